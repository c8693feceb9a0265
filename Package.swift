// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny")
]

/// One CRM service: a library target with its logic (testable) and a thin executable. Every
/// service stands on the runtime kit; `uses` adds what only some need (e.g. phone numbers), so a
/// service links only the libraries it uses.
func service(_ name: String, folder: String, executable: String, uses: [Target.Dependency] = []) -> [Target] {
  [
    .target(
      name: "\(name)Service",
      dependencies: [
        "CRMRuntime", "CRMDomain", "CRMIdentity", "CRMDatabase", "CRMEvents", "CRMRPC", "CRMContracts",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ] + uses,
      path: "Services/\(folder)/Sources",
      swiftSettings: strict
    ),
    .executableTarget(
      name: executable,
      dependencies: [.target(name: "\(name)Service"), "CRMRuntime"],
      path: "Services/\(folder)/App",
      swiftSettings: strict
    ),
  ]
}

let package = Package(
  name: "crm",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "contacts", targets: ["contacts"]),
    .executable(name: "deals", targets: ["deals"]),
    .executable(name: "activity", targets: ["activity"]),
    .executable(name: "quality-control", targets: ["quality-control"]),
    .executable(name: "reporting", targets: ["reporting"]),
    .executable(name: "crmctl", targets: ["crmctl"]),
    .executable(name: "crm-history", targets: ["crm-history"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    // The web edge (reporting): bcrypt for passwords, mustache for server-rendered pages.
    .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
  ],
  targets: [
    // librdkafka, the system library (>= 2.3, installed by deploy/local/bootstrap).
    .systemLibrary(
      name: "CRdKafka",
      path: "Shared/CRdKafka",
      pkgConfig: "rdkafka",
      providers: [.apt(["librdkafka-dev"])]
    ),
    .target(
      name: "CRMKafka",
      dependencies: [
        "CRdKafka",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      path: "Shared/Kafka",
      swiftSettings: strict
    ),
    // Protobuf messages and gRPC stubs generated from Shared/Contracts/Protos (committed).
    // Phone numbers through Debian's libphonenumber: a C++ shim with a C header.
    .target(
      name: "CPhoneNumber",
      path: "Shared/PhoneNumbers/CPhoneNumber",
      linkerSettings: [.linkedLibrary("phonenumber")]
    ),
    .target(
      name: "CRMPhoneNumbers",
      dependencies: ["CPhoneNumber"],
      path: "Shared/PhoneNumbers/Swift",
      swiftSettings: strict
    ),
    // Mail over SMTP through Debian's libcurl (libcurl4-openssl-dev): a C shim with a plain header.
    .target(
      name: "CCurlSMTP",
      path: "Shared/Mail/CCurlSMTP",
      linkerSettings: [.linkedLibrary("curl")]
    ),
    .target(
      name: "CRMMail",
      dependencies: ["CCurlSMTP"],
      path: "Shared/Mail/Swift",
      swiftSettings: strict
    ),
    // Behind the quality-control wall: the codes for people and deals, and the redaction of
    // report texts (activity makes review items; reporting maps codes back).
    .target(
      name: "CRMReview",
      dependencies: ["CRMPhoneNumbers", .product(name: "Crypto", package: "swift-crypto")],
      path: "Shared/Review",
      swiftSettings: strict
    ),
    .target(
      name: "CRMContracts",
      dependencies: [
        "CRMDomain",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      path: "Shared/Contracts",
      exclude: ["Protos"],
      swiftSettings: strict
    ),
    // gRPC over Kafka: GRPCCore's client and server transports on the Kafka client.
    .target(
      name: "CRMRPC",
      dependencies: [
        "CRMDomain",
        "CRMIdentity",
        "CRMKafka",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Shared/RPC",
      swiftSettings: strict
    ),
    // Who calls: principals and roles, signed tokens (JWT, ES256) issued and verified.
    .target(
      name: "CRMIdentity",
      dependencies: [
        "CRMDomain",
        .product(name: "JWTKit", package: "jwt-kit"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
      ],
      path: "Shared/Identity",
      swiftSettings: strict
    ),
    // Events without loss or double effect: transactional outbox and its relay.
    .target(
      name: "CRMEvents",
      dependencies: [
        "CRMDomain",
        "CRMDatabase",
        "CRMKafka",
        "CRMContracts",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Shared/Events",
      swiftSettings: strict
    ),
    // Domain failures that carry their own status, and the checks of texts from the wire: the
    // bottom of the stack (Foundation only), so repositories and domain rules need nothing above.
    .target(
      name: "CRMDomain",
      path: "Shared/Domain",
      swiftSettings: strict
    ),
    .target(
      name: "CRMDatabase",
      dependencies: [
        "CRMDomain",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Shared/Database",
      swiftSettings: strict
    ),
    .target(
      name: "CRMRuntime",
      dependencies: [
        "CRMDomain",
        "CRMIdentity",
        "CRMDatabase",
        "CRMEvents",
        "CRMKafka",
        "CRMRPC",
        "CRMContracts",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Shared/Runtime",
      swiftSettings: strict
    ),
    // Operators' command line: any method of any service over the Kafka transport.
    .executableTarget(
      name: "crmctl",
      dependencies: [
        "CRMContracts",
        "CRMIdentity",
        "CRMRPC",
        "CRMKafka",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tools/CRMCtl",
      swiftSettings: strict
    ),
    // A generated sales history written through the services' RPCs (issue 16): the plan and
    // its planted truths (pure), and the writer; used by tests, benches and the demo.
    .target(
      name: "CRMHistory",
      dependencies: [
        "CRMContracts",
        "CRMIdentity",
        "CRMRPC",
        "CRMKafka",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tools/History/Library",
      swiftSettings: strict
    ),
    .executableTarget(
      name: "crm-history",
      dependencies: [
        "CRMHistory",
        "CRMIdentity",
        "CRMKafka",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tools/History/App",
      swiftSettings: strict
    ),
    // Benchmarks behind deploy/local/bench.
    .executableTarget(
      name: "crm-bench",
      dependencies: [
        "CRMIdentity",
        "CRMContracts",
        "CRMRPC",
        "CRMRuntime",
        "CRMKafka",
        "CRMEvents",
        "ContactsService",
        "DealsService",
        "ActivityService",
        "ReportingService",
        "CRMDatabase",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tools/Bench",
      swiftSettings: strict
    ),
    // An inbox consumer in its own process, for the SIGKILL test.
    .executableTarget(
      name: "crm-inbox-worker",
      dependencies: [
        "CRMEvents",
        "CRMDatabase",
        "CRMKafka",
        "CRMContracts",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/Fixtures/InboxWorker",
      swiftSettings: strict
    ),
    .target(
      name: "CRMTestSupport",
      dependencies: [
        "CRMDatabase",
        "CRMIdentity",
        "CRMEvents",
        "CRMRuntime",
        "CRMRPC",
        "CRMContracts",
        "CRMKafka",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/Support",
      swiftSettings: strict
    ),
    .testTarget(
      name: "RuntimeTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "CRMRuntime",
        "CRMDatabase",
        "CRMKafka",
        "CRMTestSupport",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/RuntimeTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "DatabaseTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "CRMDatabase",
        "CRMTestSupport",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/DatabaseTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "EventsTests",
      dependencies: [
        "CRMIdentity",
        "CRMEvents",
        "CRMDatabase",
        "CRMKafka",
        "CRMContracts",
        "CRMRuntime",
        "CRMDomain",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/EventsTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "ContactsTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "ContactsService",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMPhoneNumbers",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/ContactsTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "DealsTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "DealsService",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMKafka",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/DealsTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "ReviewTests",
      dependencies: ["CRMReview"],
      path: "Tests/ReviewTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "ActivityTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "ActivityService",
        "QualityControlService",
        "CRMReview",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMKafka",
        "CRMTestSupport",
        "CRMMail",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ],
      path: "Tests/ActivityTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "QualityControlTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "QualityControlService",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMKafka",
        "CRMRPC",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/QualityControlTests",
      swiftSettings: strict
    ),
    // The web edge: sign-in, sessions, the reviewers' workspace, in a real headless Chromium.
    .testTarget(
      name: "WebTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "ReportingService",
        "QualityControlService",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMKafka",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ],
      path: "Tests/WebTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "ReportingTests",
      dependencies: [
        "CRMIdentity",
        "CRMDomain",
        "ReportingService",
        "CRMReview",
        "CRMRuntime",
        "CRMEvents",
        "CRMDatabase",
        "CRMContracts",
        "CRMKafka",
        "CRMRPC",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/ReportingTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "KafkaTests",
      dependencies: ["CRMKafka", "CRMTestSupport"],
      path: "Tests/KafkaTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "RPCTests",
      dependencies: [
        "CRMIdentity",
        "CRMRPC",
        "CRMRuntime",
        "CRMContracts",
        "CRMKafka",
        "CRMTestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      path: "Tests/RPCTests",
      swiftSettings: strict
    ),
    .testTarget(
      name: "SystemTests",
      dependencies: [
        "CRMIdentity",
        "CRMDatabase",
        "CRMTestSupport",
        "CRMContracts",
        "CRMKafka",
        "CRMRPC",
        "CRMRuntime",
        "CRMEvents",
        "CRMHistory",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Tests/SystemTests",
      swiftSettings: strict
    ),
  ]
    + service("Contacts", folder: "Contacts", executable: "contacts", uses: ["CRMPhoneNumbers"])
    + service("Deals", folder: "Deals", executable: "deals")
    + service(
      "Activity", folder: "Activity", executable: "activity",
      uses: [
        "CRMMail",
        "CRMPhoneNumbers",
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Crypto", package: "swift-crypto"),
        "CRMReview",
        .product(name: "Metrics", package: "swift-metrics"),
      ])
    + service("QualityControl", folder: "QualityControl", executable: "quality-control")
    + service(
      "Reporting", folder: "Reporting", executable: "reporting",
      uses: [
        .product(name: "Metrics", package: "swift-metrics"),
        "CRMReview",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
        .product(name: "Mustache", package: "swift-mustache"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
      ])
)
