#ifndef CRM_PHONE_NUMBER_H
#define CRM_PHONE_NUMBER_H

#ifdef __cplusplus
extern "C" {
#endif

/// Normalises `raw` to E.164 with Google's libphonenumber, reading national forms with
/// `default_region` (ISO 3166 code, e.g. "RU"). Writes a NUL-terminated string to `out` and
/// returns its length; 0 when `raw` is not a valid number; -1 when `capacity` is too small.
int crm_phone_e164(const char *raw, const char *default_region, char *out, int capacity);

/// Finds what could be phone numbers in the UTF-8 `text` (libphonenumber's matcher, leniency
/// POSSIBLE: better one too many than one missed), reading national forms with
/// `default_region`. Writes up to `capacity` byte ranges [starts[i], ends[i]) and returns how
/// many it found (possibly more than `capacity`).
int crm_phone_find(const char *text, const char *default_region, int *starts, int *ends, int capacity);

#ifdef __cplusplus
}
#endif

#endif
