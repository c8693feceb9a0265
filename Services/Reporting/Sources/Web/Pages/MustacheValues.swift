/// A view as dictionaries and arrays, walked once before rendering. swift-mustache looks a
/// struct's field up with `Mirror` at every tag, on every level of the context stack it searches,
/// each time reflecting every field: on the dashboard's funnel (320 rows) that was 82% of the
/// page's CPU. A `[String: Any]` is looked up by key (`MustacheParent`). Optionals are unwrapped
/// (nil: the key is left out, which the template reads as it read a nil field).
enum MustacheValues {
  static func flattened(_ value: Any) -> Any? {
    switch value {
    case is String, is Bool, is Int, is Int32, is Int64, is UInt, is UInt32, is UInt64, is Double, is Float:
      return value
    default:
      break
    }
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
