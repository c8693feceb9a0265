import CRdKafka

/// The librdkafka this process runs with (not only the one it was built against).
public enum KafkaLibrary {
  /// librdkafka 2.0 cannot parse the ApiVersions reply of the local broker; 2.3 and later can.
  public static let minimumVersion = (major: 2, minor: 3)

  public static var version: String { String(cString: rd_kafka_version_str()) }

  /// Throws when the loaded library is older than `minimumVersion`, naming both.
  public static func requireSupportedVersion() throws(KafkaError) {
    let hex = Int(rd_kafka_version())  // 0xMMmmrrxx
    let major = (hex >> 24) & 0xff
    let minor = (hex >> 16) & 0xff
    if (major, minor) < minimumVersion {
      throw KafkaError(
        .unsupportedLibrary,
        "librdkafka \(version) is loaded but \(minimumVersion.major).\(minimumVersion.minor) or later is required: "
          + "run deploy/local/bootstrap (it installs 2.8 into /usr/local) and make sure /usr/local/lib comes first (ldconfig)"
      )
    }
  }
}
