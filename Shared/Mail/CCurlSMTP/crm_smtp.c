// The one place that touches libcurl (Debian's libcurl4-openssl-dev): Swift imports the plain
// C header above and never sees curl's variadic setopt.
#include "crm_smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct message_reader {
  const char *next;
  size_t left;
};

static size_t read_message(char *buffer, size_t size, size_t count, void *user) {
  struct message_reader *reader = user;
  size_t room = size * count;
  size_t n = reader->left < room ? reader->left : room;
  memcpy(buffer, reader->next, n);
  reader->next += n;
  reader->left -= n;
  return n;
}

// The server's last reply line, and its last refusal (4xx/5xx): the reason a message failed
// (curl's own error text says only "RCPT failed: 550", and the last line is QUIT's "221 Bye").
struct replies {
  char last[512];
  char refusal[512];
};

static void keep_line(char *into, size_t capacity, const char *data, size_t size) {
  size_t n = size < capacity - 1 ? size : capacity - 1;
  memcpy(into, data, n);
  while (n > 0 && (into[n - 1] == '\r' || into[n - 1] == '\n')) n--;
  into[n] = '\0';
}

static int keep_reply(CURL *handle, curl_infotype type, char *data, size_t size, void *user) {
  (void)handle;
  if (type != CURLINFO_HEADER_IN || size == 0) return 0;
  struct replies *replies = user;
  keep_line(replies->last, sizeof(replies->last), data, size);
  if (data[0] == '4' || data[0] == '5') keep_line(replies->refusal, sizeof(replies->refusal), data, size);
  return 0;
}

int crm_smtp_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }

crm_smtp_outcome crm_smtp_send(const crm_smtp_request *request, long *smtp_code, char *reason, size_t reason_capacity) {
  *smtp_code = 0;
  CURL *curl = curl_easy_init();
  if (!curl) {
    snprintf(reason, reason_capacity, "libcurl could not make a handle");
    return CRM_SMTP_TRANSIENT;
  }
  char curl_error[CURL_ERROR_SIZE] = "";
  struct replies reply = {"", ""};
  struct message_reader reader = {request->message, request->message_length};
  struct curl_slist *recipients = curl_slist_append(NULL, request->recipient);

  curl_easy_setopt(curl, CURLOPT_URL, request->url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, request->mail_from);
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)request->message_length);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // called from many threads: no SIGALRM timeouts
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, request->timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request->timeout_seconds < 10 ? request->timeout_seconds : 10L);
  curl_easy_setopt(curl, CURLOPT_USE_SSL, request->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // to the callback only: it keeps the last reply
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, keep_reply);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &reply);
  if (request->username) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, request->username);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request->password ? request->password : "");
  }

  CURLcode result = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  *smtp_code = code;
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);

  if (result == CURLE_OK) {
    snprintf(reason, reason_capacity, "%s", reply.last);
    return CRM_SMTP_SENT;
  }
  const char *what = curl_error[0] ? curl_error : curl_easy_strerror(result);
  if (reply.refusal[0]) {
    snprintf(reason, reason_capacity, "%s (%s)", reply.refusal, what);
  } else {
    snprintf(reason, reason_capacity, "%s", what);
  }
  // A refused login is the configuration's fault, not the message's: kept and retried until
  // the operator fixes it (the message could not have been sent by anyone meanwhile).
  if (result == CURLE_LOGIN_DENIED) return CRM_SMTP_TRANSIENT;
  if (code >= 500 && code <= 599) return CRM_SMTP_PERMANENT;
  return CRM_SMTP_TRANSIENT;
}
