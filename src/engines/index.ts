export { startMachine } from './start.js';
export type { EngineMachine, EngineName as MachineEngineName, MachineOptions, MachinePaths, MachineExit, PowerOffMethod } from './machine.js';
export { ENGINES } from './machine.js';
export { AgentError, parseClock, parseExec, parseReady, parseReply, execRequest, formatRequest } from './agent-protocol.js';
export type { AgentReady, AgentReply, ClockSample, ExecResult } from './agent-protocol.js';
export { QmpClient, QmpError } from './qmp.js';
export { parseControlReply, type ControlReply } from './hv-port.js';
export { QEMU_CPU, qemuArgs } from './qemu-args.js';
