import Foundation
import Testing

@testable import ReportingService

/// The page views are flattened into dictionaries before rendering; the hand-written fields of
/// the repeated view types must say what reflecting them says, or a template tag renders empty.
@Suite("Web pages: views flattened for the templates")
struct MustacheValuesTests {
  static func keys(_ value: Any) -> Set<String> {
    Set(Mirror(reflecting: value).children.compactMap(\.label))
  }

  /// The hand-written fields' keys and flattened values, and the reflected ones.
  static func both(_ value: any Any & MustacheFields) -> [String] {
    [
      value.mustacheFields.keys.sorted().joined(separator: ","), keys(value).sorted().joined(separator: ","),
      canonical(MustacheValues.flattened(value) ?? "nil"), canonical(MustacheValues.reflected(value) ?? "nil"),
    ]
  }

  static func same(_ value: any Any & MustacheFields) -> Bool {
    let both = both(value)
    return both[0] == both[1] && both[2] == both[3]
  }

  /// Dictionaries with their keys sorted (two dictionaries with the same entries may list them
  /// in different orders).
  static func canonical(_ value: Any) -> String {
    if let dictionary = value as? [String: Any] {
      return "{" + dictionary.keys.sorted().map { "\($0): \(canonical(dictionary[$0]!))" }.joined(separator: ", ") + "}"
    }
    if let array = value as? [Any] { return "[" + array.map(canonical).joined(separator: ", ") + "]" }
    return String(describing: value)
  }

  @Test func handWrittenFieldsAreTheReflectedOnes() {
    let known = RateView(successes: 3, trials: 4, value: 0.75, lower: 0.3, upper: 0.95)
    let unknown = RateView(successes: 0, trials: 0, value: 0, lower: 0, upper: 0)
    #expect(Self.same(known) && Self.same(unknown) && Self.same(known.bar) && Self.same(known.bar.whisker!))
    let row = FunnelSection.Row(
      position: 2, owner: "m-1", who: "Анна <b>", team: false, entered: "10", advanced: "5", skipped: "1", lost: "2",
      won: "1", open: "2", toNext: known, toWon: unknown, median: "3,5 дн.")
    #expect(Self.same(row))
    let lead = FunnelSection.LeadRow(
      source: "site", owner: "", who: "Команда", team: true, leads: "4", converted: "3", rejected: "1", open: "0",
      conversion: known, rejections: "spam: 1")
    #expect(Self.same(lead))
    // A nil field is left out, as reflection leaves it out; a present optional is unwrapped.
    let flat = MustacheValues.flattened(unknown) as? [String: Any]
    #expect(flat?.keys.contains("interval") == false && flat?["percent"] as? String == "—")
    #expect((MustacheValues.reflected(known) as? [String: Any])?["interval"] as? String == known.interval)
  }

  @Test func barCoordinatesHaveOneDecimalAndAPoint() {
    #expect(ChartBar.coordinate(0) == "0.0" && ChartBar.coordinate(120) == "120.0")
    #expect(ChartBar.coordinate(37.46) == "37.5" && ChartBar.coordinate(0.04) == "0.0")
    #expect(ChartBar.coordinate(-2.25) == "-2.3" && ChartBar.coordinate(.nan) == "0.0")
    #expect(ChartBar(0.5, interval: (0.25, 0.75), label: "x").fill == "60.0")
  }
}
