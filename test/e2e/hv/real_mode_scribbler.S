/*
 * A hostile boot sector for test/e2e/hv/real-mode.test.ts: started by the hypervisor's chain
 * boot in real mode, it switches to 32-bit protected mode WITHOUT paging (flat 4 GiB segments;
 * SDM vol. 3A, 9.9.1) and fills the hypervisor's own range [0x200000, 0x800000) with 0xCC, then
 * says so on COM1 and halts. Nested paging must hold while the guest's paging is off: the
 * writes land on the scratch page and the hypervisor carries on (QEMU before 9.2 does not apply
 * nested paging to an unpaged guest: docs/engines.md, "Which QEMU").
 * Build: as --32, ld -m elf_i386 -Ttext=0x7c00 --oformat binary: exactly 512 bytes, 55AA last.
 */
	.code16
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $0x7c00, %sp
	lgdtl gdt_ptr
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $pm32
	.code32
pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $0x200000, %edi
	movl $((0x800000 - 0x200000) / 4), %ecx
	movl $0xCCCCCCCC, %eax
	cld
	rep stosl
	movl $msg, %esi
1:	movb (%esi), %bl
	testb %bl, %bl
	jz 3f
	movw $0x3fd, %dx
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	incl %esi
	jmp 1b
3:	hlt
	jmp 3b
msg:	.asciz "tsx-hv-scribbler: wrote 0xCC over 0x200000-0x7fffff\r\n"
	.p2align 3
gdt:	.quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
gdt_ptr:
	.word 23
	.long gdt
	.org 510
	.byte 0x55, 0xAA
