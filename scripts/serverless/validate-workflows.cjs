'use strict';
// The workflow definitions name the partition as `${AWS::Partition}` (never a hard-coded `arn:aws:`):
// serverless-step-functions deploys each one as a CloudFormation Fn::Sub template, which puts the
// deploying partition in. asl-validator only knows literal ARNs, so the plugin's own check
// (`stepFunctions.validate`) would refuse those definitions; this one validates each definition as
// CloudFormation will deploy it, in the `aws` partition, and fails packaging on the first invalid one.
const aslValidator = require('asl-validator');

class ValidateWorkflows {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:compileFunctions': () => this.validate() };
  }

  validate() {
    const machines = this.serverless.service.stepFunctions?.stateMachines ?? {};
    for (const [name, machine] of Object.entries(machines)) {
      if (typeof machine.definition !== 'object' || machine.definition === null) continue;
      const deployed = JSON.parse(
        JSON.stringify(machine.definition).replaceAll(/\$\{AWS::Partition\}/g, 'aws'),
      );
      const { isValid, errorsText } = aslValidator(deployed);
      if (!isValid) {
        throw new this.serverless.classes.Error(
          `State machine "${name}" definition is invalid:\n${errorsText('\n')}`,
        );
      }
      this.serverless.cli.log(`State machine "${name}" definition is valid (asl-validator).`);
    }
  }
}

module.exports = ValidateWorkflows;
