import Foundation

/// A spelling-blind form of a word, for finding a name however it was written: Cyrillic is
/// transliterated, and the letters that transliterations disagree on are merged ("Юрьев",
/// "Yuryev", "Iur'ev" and "Jurjew" give one skeleton). Only for matching; never shown.
enum NameSkeleton {
  static let cyrillic: [Character: String] = [
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "",
    "э": "e", "ю": "iu", "я": "ia", "є": "e", "і": "i", "ї": "i", "ґ": "g",
  ]
  /// Latin spellings of one sound, longest first.
  static let latin: [(String, String)] = [
    ("shch", "sh"), ("sch", "sh"), ("tch", "ch"), ("kh", "h"), ("zh", "zh"), ("tz", "c"), ("ts", "c"),
    ("ck", "k"), ("ph", "f"), ("w", "v"), ("x", "ks"), ("q", "k"), ("y", "i"), ("j", "i"),
  ]

  /// The skeleton of one word (letters only; anything else is dropped).
  static func of(_ word: some StringProtocol) -> String {
    var transliterated = ""
    for character in word.lowercased() {
      if let latin = cyrillic[character] {
        transliterated += latin
      } else if character.isLetter, let ascii = character.unicodeScalars.first.map(Self.folded), ascii.isASCII {
        transliterated.append(Character(ascii))
      }
    }
    var merged = ""
    var rest = Substring(transliterated)
    outer: while let first = rest.first {
      for (spelling, sound) in latin where rest.hasPrefix(spelling) {
        merged += sound
        rest = rest.dropFirst(spelling.count)
        continue outer
      }
      merged.append(first)
      rest = rest.dropFirst()
    }
    // Doubled letters are spelt single as often as not ("Anna"/"Ana", "Kossov"/"Kosov").
    var skeleton = ""
    for character in merged where character != skeleton.last { skeleton.append(character) }
    return skeleton
  }

  /// Latin letters with diacritics as their base letter ("é" → "e").
  static func folded(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    // An ASCII letter is its own decomposition (decomposing each was a large share of redacting a report).
    if scalar.isASCII { return scalar }
    let decomposed = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
    return decomposed.first ?? scalar
  }
}
