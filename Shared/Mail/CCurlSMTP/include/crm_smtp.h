#ifndef CRM_SMTP_H
#define CRM_SMTP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One message to one recipient, handed to libcurl's SMTP client as it is: the caller renders
/// the whole RFC 5322 message (CRLF line ends); libcurl dot-stuffs it on the way.
typedef struct {
  const char *url;            // smtp://host:port (STARTTLS per require_tls) or smtps://host:port
  const char *username;       // NULL: no AUTH
  const char *password;
  const char *mail_from;      // envelope sender, a bare address
  const char *recipient;      // envelope recipient, a bare address
  const char *message;
  size_t message_length;
  long timeout_seconds;       // the whole exchange
  int require_tls;            // smtp://: 1 refuses a server without STARTTLS, 0 uses it when offered
} crm_smtp_request;

typedef enum {
  CRM_SMTP_SENT = 0,          // the server took the message (250 after DATA)
  CRM_SMTP_TRANSIENT = 1,     // try again later: unreachable, timed out, 4xx, refused login
  CRM_SMTP_PERMANENT = 2      // the server refused this message for good (5xx)
} crm_smtp_outcome;

/// libcurl's global set-up; call once before any send (it is not thread-safe itself).
int crm_smtp_global_init(void);

/// Sends `request` and blocks until the server answered or the timeout passed: call it off
/// Swift's cooperative pool. `smtp_code` gets the server's last reply code (0 when none);
/// `reason` a NUL-terminated description (the server's last reply line when there was one).
crm_smtp_outcome crm_smtp_send(const crm_smtp_request *request, long *smtp_code, char *reason, size_t reason_capacity);

#ifdef __cplusplus
}
#endif

#endif
