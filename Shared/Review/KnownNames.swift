/// The names a producer knows (its contact directory, the report's client, company and rep), as
/// word stems that catch the word's inflected forms: "Петров" also finds "Петрова", "Петрову",
/// "Петровым", "Petrova"; "Мария" finds "Марии", "Марией", "Mariya".
public struct KnownNames: Sendable {
  /// Whose name a word is; the first in this order wins when a word is several people's.
  public enum Role: Int, Sendable, Comparable, CaseIterable {
    case client, company, rep, person

    public var placeholder: String {
      switch self {
      case .client: "[CLIENT]"
      case .company: "[COMPANY]"
      case .rep: "[REP]"
      case .person: "[PERSON]"
      }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
  }

  struct Stem: Sendable {
    var skeleton: String
    var role: Role
  }

  /// Stems by their first two skeleton letters.
  var stems: [Substring: [Stem]] = [:]
  /// Stems of four letters or more by their first four: `mentions` looks up each four letters
  /// of a word instead of trying every stem (a directory holds thousands of names).
  var longStems: [Substring: Set<String>] = [:]

  /// Legal forms and other words of a company's name that name nobody.
  static let ignored: Set<String> = [
    "ooo", "zao", "oao", "pao", "ao", "ip", "nko", "gk", "llc", "ltd", "inc", "gmbh", "co", "corp", "grup",
    "group", "kompania", "firma", "torgovii", "dom", "the", "and",
  ].reduce(into: []) { $0.insert(NameSkeleton.of($1)) }

  /// Endings of Russian nouns, names and adjectives (as skeletons): what may follow a stem.
  static let endingLetters: Set<Character> = ["a", "e", "i", "o", "u", "m", "h", "g", "v"]
  static let longestEnding = 4
  /// After a stem of two letters ("Анна" → "an") only a noun's own endings: any more would
  /// catch common words.
  static let shortStemEndings: Set<Substring> = ["a", "i", "e", "u", "oi", "ei", "ia", "iu", "ie"]

  public init() {}

  /// Adds every word of `name` (two letters or more) as `role`.
  public mutating func add(_ name: String, as role: Role) {
    for word in name.split(whereSeparator: { !$0.isLetter }) {
      let skeleton = NameSkeleton.of(word)
      guard skeleton.count >= 2, !Self.ignored.contains(skeleton) else { continue }
      let stem = Self.stem(of: skeleton)
      let entry = Stem(skeleton: stem.count >= 2 ? stem : skeleton, role: role)
      stems[Self.bucket(entry.skeleton), default: []].append(entry)
      if entry.skeleton.count >= 4 {
        longStems[Substring(entry.skeleton.prefix(4)), default: []].insert(entry.skeleton)
      }
    }
  }

  public var isEmpty: Bool { stems.isEmpty }

  /// The word stripped of the ending it may carry in the nominative: a final vowel ("Anna",
  /// "Мария"), an adjective's ending ("Достоевский", "Толстой", "Невская").
  static func stem(of skeleton: String) -> String {
    for ending in ["aia", "ii", "oi", "ia", "a", "e", "i", "o", "u"] where skeleton.hasSuffix(ending) {
      return String(skeleton.dropLast(ending.count))
    }
    return skeleton
  }

  static func bucket(_ skeleton: some StringProtocol) -> Substring { Substring(skeleton.prefix(2)) }

  /// Whose name `word` is, if anyone's: its skeleton is a known stem followed by an ending.
  func role(of word: some StringProtocol) -> Role? {
    let skeleton = NameSkeleton.of(word)
    guard skeleton.count >= 2 else { return nil }
    var best: Role?
    for stem in stems[Self.bucket(skeleton)] ?? [] where skeleton.hasPrefix(stem.skeleton) {
      let ending = skeleton.dropFirst(stem.skeleton.count)
      let fits =
        ending.isEmpty
        || (stem.skeleton.count == 2
          ? Self.shortStemEndings.contains(ending)
          : ending.count <= Self.longestEnding && ending.allSatisfy(Self.endingLetters.contains))
      if fits, best.map({ stem.role < $0 }) ?? true { best = stem.role }
    }
    return best
  }

  /// Whether `word` holds a known stem of four letters or more anywhere (glued to other letters,
  /// or with an ending not foreseen): the fail-closed check after redaction. Shorter stems would
  /// withhold every text with a common syllable.
  func mentions(_ word: some StringProtocol) -> Bool {
    let skeleton = Array(NameSkeleton.of(word))
    guard skeleton.count >= 4 else { return false }
    for start in 0...(skeleton.count - 4) {
      guard let candidates = longStems[Substring(String(skeleton[start..<start + 4]))] else { continue }
      let rest = String(skeleton[start...])
      if candidates.contains(where: { rest.hasPrefix($0) }) { return true }
    }
    return false
  }
}
