#!/bin/sh
# What the tsx_hv role needs to know about a host, as one JSON object on stdout. POSIX sh and
# coreutils only: it runs before anything of tsx-hv is on the host.
# Usage: probe.sh AGENT_PATH
agent=${1:-/usr/local/sbin/tsx-hv-agent}

json_str() { # a JSON string of $1 (backslashes, quotes and control characters escaped)
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037')"
}
flag() { # true when /proc/cpuinfo's first "flags" line has $1
	if grep -m1 '^flags' /proc/cpuinfo | tr ' \t' '\n\n' | grep -qx "$1"; then echo true; else echo false; fi
}
vmx_flag() { # Linux 5.8+ lists VMX features (ept) on their own "vmx flags" line, older kernels in "flags"
	if grep -m1 '^vmx flags' /proc/cpuinfo | tr ' \t' '\n\n' | grep -qx "$1"; then echo true; else flag "$1"; fi
}
exists() { if [ -e "$1" ]; then echo true; else echo false; fi; }

. /etc/os-release 2>/dev/null
vendor=$(grep -m1 '^vendor_id' /proc/cpuinfo | sed 's/^[^:]*: *//')
model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
cpus=$(grep -c '^processor' /proc/cpuinfo)
mem_kib=$(grep -m1 '^MemTotal' /proc/meminfo | tr -s ' ' | cut -d' ' -f2)
firmware=bios
[ -d /sys/firmware/efi ] && firmware=uefi
under=false
under_detail=""
if [ -x "$agent" ]; then
	# Exit 0: every online CPU shows the tsx-hv signature (tsx-hv-agent cpus).
	under_detail=$("$agent" cpus 2>&1 | tail -n 1)
	"$agent" cpus >/dev/null 2>&1 && under=true
fi
grub_default=""
[ -r /etc/default/grub.d/tsx-hv.cfg ] && grub_default=$(sed -n 's/^GRUB_DEFAULT=//p' /etc/default/grub.d/tsx-hv.cfg | tail -n 1)
grub=false
[ -e /etc/grub.d/00_header ] && { command -v update-grub >/dev/null 2>&1 || command -v grub-mkconfig >/dev/null 2>&1; } && grub=true

printf '{'
printf '"os_id":%s,"os_id_like":%s,"os_pretty":%s,"os_version":%s,' "$(json_str "${ID:-}")" "$(json_str "${ID_LIKE:-}")" "$(json_str "${PRETTY_NAME:-}")" "$(json_str "${VERSION_ID:-}")"
printf '"arch":%s,"kernel":%s,"firmware":"%s",' "$(json_str "$(uname -m)")" "$(json_str "$(uname -r)")" "$firmware"
printf '"cpu_vendor":%s,"cpu_model":%s,"cpus":%s,"memory_mib":%s,' "$(json_str "$vendor")" "$(json_str "$model")" "${cpus:-0}" "$(( ${mem_kib:-0} / 1024 ))"
printf '"svm":%s,"vmx":%s,"npt":%s,"ept":%s,"tsc":%s,"constant_tsc":%s,"nonstop_tsc":%s,"hypervisor_flag":%s,' \
	"$(flag svm)" "$(flag vmx)" "$(flag npt)" "$(vmx_flag ept)" "$(flag tsc)" "$(flag constant_tsc)" "$(flag nonstop_tsc)" "$(flag hypervisor)"
printf '"grub":%s,"agent":%s,"provisioned":%s,"boot_entry_default":%s,' \
	"$grub" "$(exists "$agent")" "$(exists /var/lib/tsx-hv/provision/manifest.json)" "$( [ "$grub_default" = tsx-hv ] && echo true || echo false)"
printf '"under_tsx_hv":%s,"cpus_check":%s,' "$under" "$(json_str "$under_detail")"
printf '"cmdline":%s' "$(json_str "$(cat /proc/cmdline)")"
printf '}\n'
