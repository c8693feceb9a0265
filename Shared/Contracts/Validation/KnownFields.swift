import CRMDomain
import SwiftProtobuf

extension Message {
  /// Fields this service's contract does not know (a newer or a wrong client): refused, not
  /// silently dropped.
  public func requireKnownFields(_ name: String) throws(InvalidField) {
    guard unknownFields.data.isEmpty else {
      throw InvalidField(field: name, reason: "has fields this service does not know")
    }
  }
}
