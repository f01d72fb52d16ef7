/* The console request/reply protocol (COMMON contract, docs/guest-image.md):
 * request `@<id> <command> [args]`, reply exactly one line `@<id> ok <payload>` or
 * `@<id> err <message>`. Lines that do not start with '@' are not requests and get no reply. */
#ifndef TSX_HV_AGENT_REQUESTS_H
#define TSX_HV_AGENT_REQUESTS_H

enum request_action { REQUEST_NONE, REQUEST_REPLIED, REQUEST_POWEROFF };

/* Handles one line (without its newline). Returns the reply (malloc'ed, with '\n', caller frees)
 * in *reply, or NULL when the line was not a request. REQUEST_POWEROFF asks the caller to send
 * the reply and then power the machine off. */
enum request_action handle_request(const char *line, char **reply);

#endif
