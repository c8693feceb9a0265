/// A view as dictionaries and arrays, walked once before rendering. swift-mustache looks a
/// struct's field up with `Mirror` at every tag, on every level of the context stack it searches,
/// each time reflecting every field: on the dashboard's funnel (320 rows) that was 82% of the
/// page's CPU. A `[String: Any]` is looked up by key (`MustacheParent`). Optionals are unwrapped
/// (nil: the key is left out, which the template reads as it read a nil field).
enum MustacheValues {
  static func flattened(_ value: Any) -> Any? {
    if let fields = value as? any MustacheFields {
      return fields.mustacheFields.compactMapValues { $0.flatMap(flattened) }
    }
    return reflected(value)
  }

  private static let leaves: Set<ObjectIdentifier> = [
    ObjectIdentifier(String.self), ObjectIdentifier(Bool.self), ObjectIdentifier(Int.self),
    ObjectIdentifier(Int32.self), ObjectIdentifier(Int64.self), ObjectIdentifier(UInt.self),
    ObjectIdentifier(UInt32.self), ObjectIdentifier(UInt64.self), ObjectIdentifier(Double.self),
    ObjectIdentifier(Float.self),
  ]

  /// By `Mirror`: the fields of any struct.
  static func reflected(_ value: Any) -> Any? {
    // By exact type: `is String` holds for an optional string too, which must be unwrapped below.
    if leaves.contains(ObjectIdentifier(type(of: value))) { return value }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .optional:
      return mirror.children.first.flatMap { flattened($0.value) }
    case .struct, .class:
      var fields: [String: Any] = [:]
      for child in mirror.children {
        if let label = child.label, let field = flattened(child.value) { fields[label] = field }
      }
      return fields
    case .collection, .set:
      return mirror.children.compactMap { flattened($0.value) }
    default:
      return value
    }
  }
}

/// A view type repeated hundreds of times on a page (a funnel row, a bar) gives its fields by
/// hand: reflecting it was most of what flattening a page cost. Each key is the field's name
/// (a test holds them to what `Mirror` gives); a nil optional may be left out or passed as nil.
protocol MustacheFields {
  var mustacheFields: [String: Any?] { get }
}

extension FunnelSection.Row: MustacheFields {
  var mustacheFields: [String: Any?] {
    [
      "position": position, "owner": owner, "who": who, "team": team, "entered": entered, "advanced": advanced,
      "skipped": skipped, "lost": lost, "won": won, "open": open, "toNext": toNext, "toWon": toWon, "median": median,
    ]
  }
}

extension FunnelSection.LeadRow: MustacheFields {
  var mustacheFields: [String: Any?] {
    [
      "source": source, "owner": owner, "who": who, "team": team, "leads": leads, "converted": converted,
      "rejected": rejected, "open": open, "conversion": conversion, "rejections": rejections,
    ]
  }
}

extension RateView: MustacheFields {
  var mustacheFields: [String: Any?] { ["percent": percent, "interval": interval, "detail": detail, "bar": bar] }
}

extension ChartBar: MustacheFields {
  var mustacheFields: [String: Any?] {
    ["width": width, "fill": fill, "color": color, "whisker": whisker, "mark": mark, "label": label]
  }
}

extension ChartBar.Whisker: MustacheFields {
  var mustacheFields: [String: Any?] { ["low": low, "high": high] }
}
