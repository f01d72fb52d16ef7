export { netboot, planNetboot, renderDnsmasqConf, renderIpxeScript, checkInterfaceName, NETBOOT_PATHS, type NetbootOptions, type NetbootPlan, type NetbootResult, type NetbootSources } from './netboot.js';
export { parseSubnet, parseRange, ipv4Number, ipv4Text, type Subnet, type AddressRange } from './ipv4.js';
