/**
 * The cold-start floor: an ESM script, like the cold harness, that loads nothing and only reports its CPU
 * time on fd 3 the way the cold harness does. A variant's cold start is measured over this.
 */
const cpu = process.cpuUsage();
process
  .getBuiltinModule('node:fs')
  .writeSync(3, `${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
