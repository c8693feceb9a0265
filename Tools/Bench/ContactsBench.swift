import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRPC
import CRMRuntime
import ContactsService
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO
import Synchronization

/// `deploy/local/bench contacts`: the contacts RPCs over the Kafka transport against a schema
/// of 100,000 generated cards — create, search by name fragment, search by phone — beside
/// PostgreSQL's single-row insert transactions/s with 8 clients, in the same run.
struct ContactsBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "contacts",
    abstract: "Contacts RPCs over Kafka on 100,000 cards, against PostgreSQL's single-row insert rate."
  )

  @OptionGroup var options: ServiceBenchOptions
  @Option(help: "Cards in the database before measuring.") var cards = 100_000

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-contacts")
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let kafka = KafkaConfiguration(bootstrapServers: [options.brokers], clientID: "bench-contacts")
    let service = "bench-contacts-\(suffix)"

    let figures = try await withBenchSchema(
      database: options.database, maximumConnections: options.poolSize,
      sessionSettings: ContactsComponents.sessionSettings,
      logger: logger
    ) {
      client in
      try await measure(client: client, kafka: kafka, service: service, logger: logger)
    }

    print(
      String(
        format: "create contact:     %7.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        figures["create_per_s"]!, figures["create_p50_ms"]!, figures["create_p99_ms"]!, figures["create_errors"]!))
    print(
      String(
        format: "search by name:     %7.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        figures["search_name_per_s"]!, figures["search_name_p50_ms"]!, figures["search_name_p99_ms"]!,
        figures["search_name_errors"]!))
    print(
      String(
        format: "search by phone:    %7.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        figures["search_phone_per_s"]!, figures["search_phone_p50_ms"]!, figures["search_phone_p99_ms"]!,
        figures["search_phone_errors"]!))
    print(String(format: "pg single-row insert tx (8 clients): %.0f/s", figures["pg_single_row_tx_per_s"]!))
    print(String(format: "create vs pg: %.3f", figures["create_vs_pg_ratio"]!))
    try writeFigures(figures, to: options.json)
  }

  private func measure(client: PostgresClient, kafka: KafkaConfiguration, service: String, logger: Logger)
    async throws -> [String: Double]
  {
    try await MigrationRunner.apply(
      ServiceApplication.kitMigrations + ContactsComponents.migrations, on: client, logger: logger)
    let rpc = ContactsComponents.rpcService(client: client, logger: logger)
    return try await withBenchHost(rpc: rpc) { seeder in
      let numbers = Counter()
      print("seeding \(cards) cards …")
      let seedClock = ContinuousClock.now
      let seedContacts = Crm_Contacts_V1_Contacts.Client(wrapping: seeder)
      try await withThrowingTaskGroup(of: Void.self) { seeders in
        for _ in 0..<16 {
          seeders.addTask {
            while true {
              let index = numbers.next()
              guard index < cards else { return }
              _ = try await seedContacts.createContact(NameGenerator.card(index))
            }
          }
        }
        try await seeders.waitForAll()
      }
      print(String(format: "  seeded in %.1f s", (ContinuousClock.now - seedClock).seconds))

      var results: [Phase: LoadResult] = [:]
      for phase in Phase.allCases {
        print(
          "measuring \(phase.title) for \(options.seconds) s at \(options.callers) callers over \(options.transportName) …"
        )
        results[phase] =
          if options.inProcess {
            await run(phase, Crm_Contacts_V1_Contacts.Client(wrapping: seeder), numbers: numbers)
          } else {
            try await withKafkaPhase(
              phase.rawValue, rpc: rpc, kafka: kafka, service: service, fetchWaitMs: options.fetchWaitMs, logger: logger
            ) { remote in
              await run(phase, Crm_Contacts_V1_Contacts.Client(wrapping: remote), numbers: numbers)
            }
          }
      }
      let (create, byName, byPhone) = (results[.create]!, results[.searchByName]!, results[.searchByPhone]!)
      print("measuring PostgreSQL single-row insert transactions (8 clients) …")
      let pg = try await singleRowInserts(client: client, logger: logger)
      return [
        "cards": Double(cards),
        "callers": Double(options.callers),
        "in_process": options.inProcess ? 1 : 0,
        "create_per_s": create.callsPerSecond,
        "create_p50_ms": create.percentile(0.5),
        "create_p99_ms": create.percentile(0.99),
        "create_errors": Double(create.errors),
        "search_name_per_s": byName.callsPerSecond,
        "search_name_p50_ms": byName.percentile(0.5),
        "search_name_p99_ms": byName.percentile(0.99),
        "search_name_errors": Double(byName.errors),
        "search_phone_per_s": byPhone.callsPerSecond,
        "search_phone_p50_ms": byPhone.percentile(0.5),
        "search_phone_p99_ms": byPhone.percentile(0.99),
        "search_phone_errors": Double(byPhone.errors),
        "search_per_s": (byName.callsPerSecond + byPhone.callsPerSecond) / 2,
        "search_p99_ms": max(byName.percentile(0.99), byPhone.percentile(0.99)),
        "pg_single_row_tx_per_s": pg,
        "create_vs_pg_ratio": create.callsPerSecond / pg,
        "rss_mb": peakResidentMegabytes(),
      ]
    }
  }

  /// The measured phases, in order.
  enum Phase: String, CaseIterable {
    case create
    case searchByName = "name"
    case searchByPhone = "phone"

    var title: String {
      switch self {
      case .create: "create"
      case .searchByName: "search by name fragment"
      case .searchByPhone: "search by phone"
      }
    }
  }

  /// One measured phase, after a warm-up (group joined, reply topic ready, connections pooled).
  private func run<Transport: ClientTransport>(
    _ phase: Phase, _ contacts: Crm_Contacts_V1_Contacts.Client<Transport>, numbers: Counter
  ) async -> LoadResult {
    _ = await LoadGenerator.run(callers: options.callers, duration: .seconds(2)) {
      _ = try await contacts.searchContacts(.with { $0.query = NameGenerator.phone(Int.random(in: 0..<cards)) })
    }
    return await LoadGenerator.run(callers: options.callers, duration: .seconds(options.seconds)) {
      switch phase {
      case .create:
        _ = try await contacts.createContact(NameGenerator.card(numbers.next()))
      case .searchByName:
        _ = try await contacts.searchContacts(
          .with {
            $0.query = NameGenerator.fragment()
            $0.page.pageSize = 20
          })
      case .searchByPhone:
        _ = try await contacts.searchContacts(.with { $0.query = NameGenerator.phone(Int.random(in: 0..<cards)) })
      }
    }
  }

  /// Autocommitted single-row inserts from 8 clients for the phase's length.
  private func singleRowInserts(client: PostgresClient, logger: Logger) async throws -> Double {
    _ = try await client.query(
      "CREATE TABLE raw_inserts (id bigserial PRIMARY KEY, name text NOT NULL, payload bytea NOT NULL)",
      logger: logger
    ).collect()
    let payload = ByteBuffer(bytes: [UInt8](repeating: 42, count: 200))
    let result = await LoadGenerator.run(callers: 8, duration: .seconds(options.seconds)) {
      _ = try await client.query(
        "INSERT INTO raw_inserts (name, payload) VALUES (\("Иван Петров"), \(payload))", logger: logger
      ).collect()
    }
    return result.callsPerSecond
  }
}

/// Generated people: Russian and Latin names, unique Russian mobile numbers.
enum NameGenerator {
  static let russianFirst = [
    "Иван", "Пётр", "Алексей", "Ольга", "Мария", "Анна", "Сергей", "Дмитрий", "Елена", "Наталья",
  ]
  static let russianLast = [
    "Петров", "Иванов", "Смирнов", "Кузнецов", "Соколов", "Попов", "Лебедев", "Козлов", "Новиков", "Морозов",
    "Волков", "Алексеев", "Фёдоров", "Михайлов", "Беляев", "Тарасов", "Белов", "Комаров", "Орлов", "Киселёв",
  ]
  static let latinFirst = ["John", "Anna", "Peter", "Maria", "James", "Laura", "David", "Emma", "Michael", "Sophie"]
  static let latinLast = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
  ]

  static func name(_ index: Int) -> String {
    if index % 2 == 0 {
      let last = russianLast[(index / 2) % russianLast.count]
      let female = ["Ольга", "Мария", "Анна", "Елена", "Наталья"]
      let first = russianFirst[(index / 40) % russianFirst.count]
      return "\(last)\(female.contains(first) ? "а" : "") \(first) \(index)"
    }
    return "\(latinFirst[(index / 40) % latinFirst.count]) \(latinLast[(index / 2) % latinLast.count]) \(index)"
  }

  /// +7 912 and seven digits of the index: unique for 10,000,000 cards.
  static func phone(_ index: Int) -> String { "+7912" + String(format: "%07d", index % 10_000_000) }

  static func card(_ index: Int) -> Crm_Contacts_V1_CreateContactRequest {
    .with {
      $0.name = name(index)
      $0.phones = [.with { $0.number = phone(index) }]
      $0.emails = [.with { $0.address = "person\(index)@example.com" }]
      $0.ownerID = "manager-\(index % 20)"
      $0.position = "manager"
    }
  }

  /// The first five letters of a surname, lower-case or as typed.
  static func fragment() -> String {
    let surname = Bool.random() ? russianLast.randomElement()! : latinLast.randomElement()!
    return String(surname.prefix(5))
  }
}

/// Indexes handed out once each, across tasks.
final class Counter: Sendable {
  private let value = Atomic<Int>(0)
  func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

extension Duration {
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
