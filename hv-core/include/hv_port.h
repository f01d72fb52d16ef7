/* hv_port.h - the hypervisor's serial port is invisible to the guest. */
#ifndef TSX_HV_HV_PORT_H
#define TSX_HV_HV_PORT_H

void hv_port_hide(void);

#endif
