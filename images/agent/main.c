/* tsx-hv-agent: the guest agent.
 *   tsx-hv-agent                  serve the request protocol on /dev/ttyS0 (started by /init)
 *   tsx-hv-agent serve [DEV|-]    the same on another device, or stdin/stdout
 *   tsx-hv-agent speed N|P/Q      set the guest's time speed through the hypercall ABI
 *   tsx-hv-agent status           print speed and armed state
 *   tsx-hv-agent arm              end the calibration guard now
 *   tsx-hv-agent autoarm          wait until the kernel's TSC calibration is over, arm once, exit
 *                                 (what tsx-hv-agent.service runs on installed systems)
 *   tsx-hv-agent keys TTY SECONDS print the raw scan codes typed on a virtual console
 *   tsx-hv-agent cpus             the tsx-hv signature on every online CPU (exit 3: a CPU runs outside)
 * Exit codes: 0 ok, 1 hypercall error, 2 usage, 3 no tsx-hv hypervisor. */
#include "hvcmds.h"
#include "serve.h"
#include "autoarm.h"
#include "keys.h"
#include "cpus.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONSOLE "/dev/ttyS0"

static int usage(void)
{
	fputs("usage: tsx-hv-agent [serve [DEVICE|-]] | speed N|P/Q | status | arm | autoarm | keys TTY SECONDS | cpus\n", stderr);
	return 2;
}

static int report(int rc, const char *msg)
{
	if (rc == 0) {
		printf("%s\n", msg);
		return 0;
	}
	fprintf(stderr, "tsx-hv-agent: %s\n", msg);
	if (strcmp(msg, "no-hypervisor") == 0) return 3;
	return strncmp(msg, "usage", 5) == 0 ? 2 : 1;
}

static int auto_arm_once(void)
{
	struct autoarm a;
	char msg[320];
	autoarm_init(&a);
	while (!autoarm_poll(&a, msg, sizeof msg)) usleep(100 * 1000);
	printf("%s\n", msg);
	return strstr(msg, ": failed") ? 1 : 0;
}

int main(int argc, char **argv)
{
	char msg[160];
	if (argc == 1) return serve(DEFAULT_CONSOLE);
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0 && argc <= 3) return serve(argc == 3 ? argv[2] : DEFAULT_CONSOLE);
	if (strcmp(cmd, "speed") == 0 && argc == 3) return report(hv_cmd_speed(argv[2], msg, sizeof msg), msg);
	if (strcmp(cmd, "status") == 0 && argc == 2) return report(hv_cmd_status(msg, sizeof msg), msg);
	if (strcmp(cmd, "arm") == 0 && argc == 2) return report(hv_cmd_arm(msg, sizeof msg), msg);
	if (strcmp(cmd, "autoarm") == 0 && argc == 2) return auto_arm_once();
	if (strcmp(cmd, "cpus") == 0 && argc == 2) return cpus_check();
	if (strcmp(cmd, "keys") == 0 && argc == 4 && atoi(argv[3]) > 0) return keys_dump(argv[2], atoi(argv[3]));
	return usage();
}
