export { control, controlExchange, resolveControlSocket, speedRequest, parseStatus, ControlRefusedError } from './client.js';
export { startControlProxy, noHypervisor, type ControlProxy, type ControlSender } from './proxy.js';
export { runStatePath, readRunState, writeRunState, clearRunState, NoRunningMachineError, type RunState } from './run-state.js';
export { serialControl, serialExchange, parseBaud, SERIAL_DEFAULT_BAUD } from './serial.js';
