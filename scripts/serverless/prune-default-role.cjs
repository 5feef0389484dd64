'use strict';
// osls always compiles a shared execution role (IamRoleLambdaExecution) that may consume every queue;
// serverless-iam-roles-per-function gives each function its own role and leaves the shared one unused.
// A role nobody assumes is still a grant waiting to be misused, so it is removed when nothing refers to it.
class PruneDefaultRole {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.prune() };
  }

  prune() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    if (resources.IamRoleLambdaExecution === undefined) return;
    const { IamRoleLambdaExecution: _role, ...others } = resources;
    if (!JSON.stringify(others).includes('"IamRoleLambdaExecution"')) {
      delete resources.IamRoleLambdaExecution;
      this.serverless.cli.log(
        'Removed the unused shared role IamRoleLambdaExecution (each function has its own).',
      );
    }
  }
}

module.exports = PruneDefaultRole;
