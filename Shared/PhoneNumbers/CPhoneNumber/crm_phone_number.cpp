// The one place that touches libphonenumber's C++ API: Swift imports the plain C header.
#include "crm_phone_number.h"

#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" int crm_phone_e164(const char *raw, const char *default_region, char *out, int capacity) {
  // The instance is a process-wide singleton; Parse and Format are const and thread-safe.
  const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(raw, default_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return 0;
  if (!util->IsValidNumber(number)) return 0;
  std::string formatted;
  util->Format(number, PhoneNumberUtil::E164, &formatted);
  if (formatted.size() + 1 > static_cast<size_t>(capacity)) return -1;
  std::memcpy(out, formatted.c_str(), formatted.size() + 1);
  return static_cast<int>(formatted.size());
}

extern "C" int crm_phone_find(const char *text, const char *default_region, int *starts, int *ends, int capacity) {
  const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
  // The matcher's offsets are bytes of the UTF-8 text; it gives up after `max_tries` candidates
  // that were no number, so an adversarial text cannot keep it busy.
  PhoneNumberMatcher matcher(*util, std::string(text), default_region, PhoneNumberMatcher::POSSIBLE, 10000);
  int found = 0;
  PhoneNumberMatch match;
  while (matcher.HasNext() && matcher.Next(&match)) {
    if (found < capacity) {
      starts[found] = match.start();
      ends[found] = match.end();
    }
    found++;
  }
  return found;
}
