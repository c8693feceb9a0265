/// The five services of the platform; names are those of their executables and topics.
public enum CRMService: String, Sendable, CaseIterable {
  case contacts
  case deals
  case activity
  case qualityControl = "quality-control"
  case reporting

  /// Port of the HTTP endpoint (health, metrics) when `CRM_HTTP_PORT` is not set.
  public var defaultHTTPPort: Int {
    switch self {
    case .contacts: 18081
    case .deals: 18082
    case .activity: 18083
    case .qualityControl: 18084
    case .reporting: 18085
    }
  }
}
