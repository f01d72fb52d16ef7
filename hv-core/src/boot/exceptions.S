/*
 * Host vectors. 0-31 are exceptions: each is either the expected #GP of rdmsr_safe/wrmsr_safe,
 * resumed at its fixup, a host NMI (exceptions.c), or a hypervisor bug, reported by
 * hv_exception() as a panic. 32-255 are interrupts, which the hypervisor accepts only inside
 * its idle halt (idle.c): the handler records the vector and returns with interrupts off.
 * AMD APM vol. 2, 8.2 (vectors) and 8.9.3 (64-bit stack frame).
 */
	.text
	.code64

.macro VECTOR n, has_error
	.balign 16
vector_\n:
	.if \has_error == 0
	pushq $0
	.else
	jmp with_error_\n
	.endif
	pushq $\n
	jmp exception_common
.endm

/* A vector that has an error code as an exception can also arrive as an external interrupt,
 * without one, in the host's interrupt windows: a firmware-programmed PIC sends IRQ0-7 on
 * vectors 8-15 (the BIOS's own mapping, which a chain-booted OS runs with until it remaps the
 * PIC). Only then is the word on top of the stack one of the windows' return addresses (an
 * error code never is): that frame gets the error-code slot it lacks. */
.macro WITH_ERROR n
with_error_\n:
	cmpq $host_irq_resume_hlt, (%rsp)
	je 1f
	cmpq $host_irq_resume_nop, (%rsp)
	je 1f
	pushq $\n
	jmp exception_common
1:	pushq $0
	pushq $\n
	jmp exception_common
.endm

	VECTOR 0, 0
	VECTOR 1, 0
	VECTOR 2, 0
	VECTOR 3, 0
	VECTOR 4, 0
	VECTOR 5, 0
	VECTOR 6, 0
	VECTOR 7, 0
	VECTOR 8, 1
	VECTOR 9, 0
	VECTOR 10, 1
	VECTOR 11, 1
	VECTOR 12, 1
	VECTOR 13, 1
	VECTOR 14, 1
	VECTOR 15, 0
	VECTOR 16, 0
	VECTOR 17, 1
	VECTOR 18, 0
	VECTOR 19, 0
	VECTOR 20, 0
	VECTOR 21, 1
	VECTOR 22, 0
	VECTOR 23, 0
	VECTOR 24, 0
	VECTOR 25, 0
	VECTOR 26, 0
	VECTOR 27, 0
	VECTOR 28, 0
	VECTOR 29, 1
	VECTOR 30, 1
	VECTOR 31, 0
	/* 32-255: same 16-byte stride (the table below relies on it), no error code. */
	.set n, 32
	.rept 224
	.balign 16
	pushq $0
	pushq $n
	jmp exception_common
	.set n, n + 1
	.endr

	WITH_ERROR 8
	WITH_ERROR 10
	WITH_ERROR 11
	WITH_ERROR 12
	WITH_ERROR 13
	WITH_ERROR 14
	WITH_ERROR 17
	WITH_ERROR 21
	WITH_ERROR 29
	WITH_ERROR 30

exception_common:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rbp
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rbx
	pushq %rax
	movq %rsp, %rdi
	call hv_exception
	popq %rax
	popq %rbx
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	popq %rbp
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	addq $16, %rsp
	iretq

/* The host's only interrupt windows (idle.c through the vendor's host_halt and
 * host_take_interrupt): an interrupt taken in one returns to host_irq_resume_hlt or
 * host_irq_resume_nop, which is how exceptions.c tells an external interrupt on a vector below
 * 32 from an exception. STI's shadow covers the next instruction (SDM vol. 2B, STI). */
	.globl host_sti_hlt
host_sti_hlt:
	sti
	hlt
	.globl host_irq_resume_hlt
host_irq_resume_hlt:
	cli
	ret

	.globl host_sti_nop
host_sti_nop:
	sti
	nop
	.globl host_irq_resume_nop
host_irq_resume_nop:
	cli
	ret

	.data
	.balign 8
	.globl exception_vectors
exception_vectors:
	.set i, 0
	.rept 256
	.quad vector_0 + i * 16
	.set i, i + 1
	.endr

/* int rdmsr_safe(uint32_t msr, uint64_t *value) */
	.text
	.globl rdmsr_safe
rdmsr_safe:
	movl %edi, %ecx
	.globl rdmsr_safe_insn
rdmsr_safe_insn:
	rdmsr
	shlq $32, %rdx
	movl %eax, %eax
	orq %rdx, %rax
	movq %rax, (%rsi)
	xorl %eax, %eax
	ret
	.globl rdmsr_safe_fixup
rdmsr_safe_fixup:
	movq $0, (%rsi)
	movl $-1, %eax
	ret

/* int wrmsr_safe(uint32_t msr, uint64_t value) */
	.globl wrmsr_safe
wrmsr_safe:
	movl %edi, %ecx
	movl %esi, %eax
	movq %rsi, %rdx
	shrq $32, %rdx
	.globl wrmsr_safe_insn
wrmsr_safe_insn:
	wrmsr
	xorl %eax, %eax
	ret
	.globl wrmsr_safe_fixup
wrmsr_safe_fixup:
	movl $-1, %eax
	ret
