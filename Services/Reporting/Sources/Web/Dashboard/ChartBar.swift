import Foundation

/// A horizontal bar drawn as SVG by the `bar` template: a value on a scale from 0 to `scale`,
/// with its interval as a whisker and an optional mark (e.g. a coefficient's 1). The geometry
/// is computed here as plain numbers; the template only places them (no markup is built in Swift).
struct ChartBar: Sendable, Hashable {
  struct Whisker: Sendable, Hashable {
    var low: String
    var high: String
  }

  static let width = 120.0

  var width = Self.coordinate(Self.width)
  var fill: String
  var color: String
  var whisker: Whisker?
  var mark: String?
  /// What the bar says, for readers that do not see it (aria-label; escaped like any text).
  var label: String

  /// `value` in [0, scale] (clamped), `interval` around it, `mark` a value to draw a line at.
  init(
    _ value: Double, interval: (Double, Double)? = nil, scale: Double = 1, mark: Double? = nil, label: String,
    color: String = "#4a78c2"
  ) {
    func x(_ value: Double) -> String {
      Self.coordinate(min(max(value.isFinite ? value : 0, 0), scale) / scale * Self.width)
    }
    fill = x(value)
    self.color = color
    whisker = interval.map { Whisker(low: x($0.0), high: x($0.1)) }
    self.mark = mark.map(x)
    self.label = label
  }

  /// SVG wants a point, whatever the language of the page; one decimal, by hand (a page draws
  /// hundreds of bars, and `String(format:)` was a visible share of its time).
  static func coordinate(_ value: Double) -> String {
    guard value.isFinite, value.magnitude < 1e15 else { return "0.0" }
    let tenths = Int64((value * 10).rounded())
    return (tenths < 0 ? "-" : "") + String(tenths.magnitude / 10) + "." + String(tenths.magnitude % 10)
  }
}

/// A row of small columns (one per week, say), heights relative to the largest.
struct ChartColumns: Sendable, Hashable {
  struct Column: Sendable, Hashable {
    var x: String
    var y: String
    var height: String
    var label: String
  }

  static let height = 28.0
  static let step = 10.0

  var width: String
  var columns: [Column]
  var label: String

  init(_ values: [(label: String, value: Double)], label: String) {
    let top = values.map(\.value).max() ?? 0
    columns = values.enumerated().map { index, entry in
      let height = top > 0 ? max(entry.value, 0) / top * Self.height : 0
      return Column(
        x: ChartBar.coordinate(Double(index) * Self.step), y: ChartBar.coordinate(Self.height - height),
        height: ChartBar.coordinate(height), label: entry.label)
    }
    width = ChartBar.coordinate(max(Double(values.count) * Self.step, Self.step))
    self.label = label
  }
}
