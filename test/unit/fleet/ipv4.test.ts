import t from 'tap';
import { ipv4Number, ipv4Text, parseRange, parseSubnet } from '../../../src/fleet/ipv4.js';
import { UsageError } from '../../../src/errors.js';

t.test('dotted quads convert both ways; anything else is not an address', async (t) => {
  t.equal(ipv4Number('10.77.0.1'), 0x0a4d0001);
  t.equal(ipv4Number('255.255.255.255'), 0xffffffff);
  t.equal(ipv4Text(0xc0a83201), '192.168.50.1');
  t.equal(ipv4Text(ipv4Number('0.0.0.0')!), '0.0.0.0');
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1.2', 'a.b.c.d', ' 10.0.0.1', '']) t.equal(ipv4Number(bad), null, JSON.stringify(bad));
});

t.test('a server address with its prefix gives the subnet dnsmasq needs', async (t) => {
  t.same(parseSubnet('--server', '192.168.50.1/24'), { address: '192.168.50.1', prefixLength: 24, network: '192.168.50.0', netmask: '255.255.255.0', broadcast: '192.168.50.255' });
  t.same(parseSubnet('--server', ' 10.1.2.3/8 '), { address: '10.1.2.3', prefixLength: 8, network: '10.0.0.0', netmask: '255.0.0.0', broadcast: '10.255.255.255' });
  t.same(parseSubnet('--server', '172.16.5.6/30').network, '172.16.5.4');
});

t.test('refuses server addresses no lab host can have, naming the flag', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['10.77.0.1', /is not ADDRESS\/PREFIX/],
    ['10.77.0.1/', /is not ADDRESS\/PREFIX/],
    ['10.77.0.300/24', /is not an IPv4 address/],
    ['10.77.0.1/31', /prefix length must be 8 to 30, not 31/],
    ['10.77.0.1/7', /prefix length must be 8 to 30/],
    ['10.77.0.0/24', /network address of 10\.77\.0\.0\/24/],
    ['10.77.0.255/24', /broadcast address/],
    ['127.0.0.1/8', /loopback/],
    ['0.1.2.3/8', /this network/],
    ['224.0.0.1/8', /multicast/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parseSubnet('--server', text), UsageError, text) as unknown as UsageError;
    t.match(err.message, message, text);
    t.match(err.message, /^--server /);
    t.match(err.hint, /--server 192\.168\.50\.1\/24/);
  }
});

t.test('a DHCP range lies inside the subnet, in order, without this host', async (t) => {
  const subnet = parseSubnet('--server', '10.77.0.1/24');
  t.same(parseRange('--dhcp-range', '10.77.0.100-10.77.0.150', subnet), { start: '10.77.0.100', end: '10.77.0.150' });
  t.same(parseRange('--dhcp-range', '10.77.0.2, 10.77.0.2', subnet), { start: '10.77.0.2', end: '10.77.0.2' });
  const cases: Array<[string, RegExp]> = [
    ['10.77.0.100', /is not START-END/],
    ['10.77.0.100-10.77.0.150-10.77.0.160', /is not START-END/],
    ['10.77.0.100-10.77.0.x', /"10\.77\.0\.x" is not an IPv4 address/],
    ['10.77.0.150-10.77.0.100', /ends before it starts/],
    ['10.77.0.0-10.77.0.9', /not inside the hosts of 10\.77\.0\.0\/24 \(10\.77\.0\.1 to 10\.77\.0\.254\)/],
    ['10.77.0.200-10.77.0.255', /not inside the hosts/],
    ['10.78.0.2-10.78.0.9', /not inside the hosts/],
    ['10.77.0.1-10.77.0.9', /contains this host's own address 10\.77\.0\.1/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parseRange('--dhcp-range', text, subnet), UsageError, text) as unknown as UsageError;
    t.match(err.message, message, text);
  }
});

t.test('the range hint suggests addresses that do not contain this host', async (t) => {
  const hintFor = (server: string) => {
    try {
      parseRange('--dhcp-range', 'x', parseSubnet('--server', server));
    } catch (err) {
      return (err as UsageError).hint ?? '';
    }
    return '';
  };
  t.match(hintFor('10.77.0.1/24'), /--dhcp-range 10\.77\.0\.127-10\.77\.0\.254$/);
  t.match(hintFor('10.77.0.200/24'), /--dhcp-range 10\.77\.0\.1-10\.77\.0\.126$/);
  const suggested = /(\S+)-(\S+)$/.exec(hintFor('10.77.0.200/24'))!;
  t.same(parseRange('--dhcp-range', `${suggested[1]}-${suggested[2]}`, parseSubnet('--server', '10.77.0.200/24')), { start: suggested[1], end: suggested[2] });
});
