import CRMDomain
import Foundation

/// The dashboard's GET form, checked: every field optional (empty is no filter), an unknown,
/// repeated or malformed one refused with a 400 naming it. Whether a pipeline or a manager
/// exists, and whether this person may ask for that manager, is the dashboard's next check.
struct DashboardFilters: Sendable, Equatable {
  enum Kind: String, Sendable, CaseIterable {
    case all = ""
    case consultative, active
  }

  static let fields: Set<String> = ["from", "to", "pipeline", "kind", "source", "manager", "days", "page"]
  /// The whole query string; a longer one is refused before it is read.
  static let queryLimit = 2048
  static let stalledDaysDefault = 14

  /// The first and last day of the period, as typed (inclusive); nil: open.
  var from: Day?
  var to: Day?
  var pipelineID: String?
  var kind = Kind.all
  var source: String?
  var managerID: String?
  var stalledDays = stalledDaysDefault
  /// The stalled deals' page token (the report's own, opaque).
  var page: String?

  /// A calendar day as the form has it: `2026-12-02` (a date field) or `02.12.2026`.
  struct Day: Sendable, Equatable {
    var year: Int
    var month: Int
    var day: Int

    init?(_ text: String) {
      let parts: [Substring]
      let dashed = text.split(separator: "-", omittingEmptySubsequences: false)
      let dotted = text.split(separator: ".", omittingEmptySubsequences: false)
      if dashed.count == 3, dashed[0].count == 4, dashed[1].count == 2, dashed[2].count == 2 {
        parts = dashed
      } else if dotted.count == 3, dotted[0].count == 2, dotted[1].count == 2, dotted[2].count == 4 {
        parts = dotted.reversed()
      } else {
        return nil
      }
      guard parts.allSatisfy({ $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
        let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
        (1970...9998).contains(year), (1...12).contains(month),
        (1...Self.length(month: month, year: year)).contains(day)
      else { return nil }
      (self.year, self.month, self.day) = (year, month, day)
    }

    static func length(month: Int, year: Int) -> Int {
      switch month {
      case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
      case 4, 6, 9, 11: 30
      default: 31
      }
    }

    /// Its midnight in `zone`, or the next day's (`after`).
    func start(in zone: TimeZone, after: Bool = false) -> Date {
      let calendar = RussianFormat.calendar(zone)
      let midnight = calendar.date(from: DateComponents(year: year, month: month, day: day)) ?? Date()
      return after ? calendar.date(byAdding: .day, value: 1, to: midnight) ?? midnight : midnight
    }

    /// As a date field wants it back.
    var iso: String {
      "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }
  }

  init() {}

  /// `query`: the raw query string (percent-encoded), nil or empty for none.
  init(query: String?) throws(WebError) {
    let query = query ?? ""
    guard query.utf8.count <= Self.queryLimit else {
      throw WebError(.uriTooLong, "Строка запроса длиннее \(Self.queryLimit) байт.")
    }
    let form = try WebForm(query, allowed: Self.fields)
    func value(_ name: String) -> String? {
      guard let value = form.fields[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
      return value
    }
    for name in ["from", "to"] {
      guard let text = value(name) else { continue }
      guard let day = Day(text) else {
        throw WebError(
          .badRequest, "Поле «\(name)»: \(Text.quoted(String(text.prefix(40)))) — не дата (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ).")
      }
      if name == "from" { from = day } else { to = day }
    }
    if let from, let to, (from.year, from.month, from.day) > (to.year, to.month, to.day) {
      throw WebError(.badRequest, "Поле «from»: начало периода позже его конца.")
    }
    if let text = value("pipeline") { pipelineID = try Self.identifier(text, "pipeline") }
    if let text = value("kind") {
      guard let kind = Kind(rawValue: text), kind != .all else {
        throw WebError(.badRequest, "Поле «kind»: ожидается consultative, active или пусто.")
      }
      self.kind = kind
    }
    if let text = value("source") {
      guard text.count <= 100, text.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) }) else {
        throw WebError(.badRequest, "Поле «source»: до 100 знаков, без управляющих.")
      }
      source = text
    }
    if let text = value("manager") { managerID = try Self.identifier(text, "manager") }
    if let text = value("days") {
      guard let days = Int(text), (1...3_650).contains(days) else {
        throw WebError(.badRequest, "Поле «days»: целое число дней от 1 до 3650.")
      }
      stalledDays = days
    }
    if let text = value("page") {
      guard text.utf8.count <= 512, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
        throw WebError(.badRequest, "Поле «page»: это не номер страницы, который выдал отчёт.")
      }
      page = text
    }
  }

  /// Ids of pipelines and managers: 1 to 64 of the characters ids are made of.
  static func identifier(_ text: String, _ field: String) throws(WebError) -> String {
    guard (1...64).contains(text.utf8.count),
      text.utf8.allSatisfy({
        (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
          || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":")].contains($0)
      })
    else {
      throw WebError(.badRequest, "Поле «\(field)»: от 1 до 64 знаков A-Z a-z 0-9 . _ - :")
    }
    return text
  }

  /// [from, to + 1 day) on the company's clock; nil when both ends are open.
  func period(in zone: TimeZone) -> (from: Date?, to: Date?)? {
    guard from != nil || to != nil else { return nil }
    return (from?.start(in: zone), to?.start(in: zone, after: true))
  }

  /// The filters as a query string (for the nav's links and the pages of stalled deals),
  /// without the stalled page unless `page` is given.
  func query(page: String? = nil) -> String {
    var pairs: [(String, String)] = []
    if let from { pairs.append(("from", from.iso)) }
    if let to { pairs.append(("to", to.iso)) }
    if let pipelineID { pairs.append(("pipeline", pipelineID)) }
    if kind != .all { pairs.append(("kind", kind.rawValue)) }
    if let source { pairs.append(("source", source)) }
    if let managerID { pairs.append(("manager", managerID)) }
    if stalledDays != Self.stalledDaysDefault { pairs.append(("days", String(stalledDays))) }
    if let page { pairs.append(("page", page)) }
    guard !pairs.isEmpty else { return "" }
    // ASCII letters and digits only: a Cyrillic source is percent-encoded too.
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return "?"
      + pairs.map { name, value in
        name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
      }.joined(separator: "&")
  }
}
