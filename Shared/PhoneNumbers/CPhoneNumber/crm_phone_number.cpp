// The one place that touches libphonenumber's C++ API: Swift imports the plain C header.
#include "crm_phone_number.h"

#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
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
