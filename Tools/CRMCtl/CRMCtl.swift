import ArgumentParser
import CRMContracts
import CRMIdentity
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore
import Logging

/// Calls any method of any service over the Kafka transport, with protobuf's JSON mapping.
@main
struct CRMCtl: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "crmctl",
    abstract: "Call a CRM service method over Kafka.",
    discussion: """
      The request is JSON (protobuf JSON mapping) from --json or standard input; with neither \
      (standard input is a terminal) it is the empty request {}, e.g. for `crmctl deals \
      ListPipelines`. The reply is printed as JSON. On an error the status code and message go \
      to standard error and the exit code is the gRPC status code (3 INVALID_ARGUMENT, \
      5 NOT_FOUND, 4 DEADLINE_EXCEEDED, …).

      Example: crmctl contacts Echo --json '{"text": "hello"}'

      \(MethodIndex.helpText)
      """
  )

  @Argument(help: "The service: \(MethodIndex.servers.joined(separator: ", ")).")
  var service: String

  @Argument(help: "The method, e.g. CreateLead or Diagnostics/Echo.")
  var method: String

  @Option(help: "The request as JSON; else read from standard input (the empty request when that is a terminal).")
  var json: String?

  @Option(help: "Broker list host:port[,host:port]; default $CRM_KAFKA_BROKERS or 127.0.0.1:19092.")
  var brokers: String?

  @Option(help: "Seconds to wait for the reply.")
  var timeout: Double = 10

  @Option(
    name: .customLong("as"),
    help: """
      Call as this principal, role:subject (roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))), \
      e.g. manager:m-17; by default the operator, operator:crmctl.
      """)
  var principal: String = "operator:crmctl"

  @Option(
    help: """
      The token signing key (PEM, P-256); default $CRM_TOKEN_SIGNING_KEY_FILE, else \
      .state/keys/issuer.pem (made by deploy/local/stack up) in the current folder.
      """)
  var signingKey: String?

  @Option(help: "An id for this request: a create repeated with the same id answers its first result.")
  var requestID: String?

  func validate() throws {
    guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be in (0, 300] seconds") }
    do { _ = try Principal(parsing: principal) } catch { throw ValidationError("--as: \(error.reason)") }
  }

  /// The issuer that signs this call's token, from the key file.
  func issuer() throws -> TokenIssuer {
    let path =
      signingKey ?? ProcessInfo.processInfo.environment["CRM_TOKEN_SIGNING_KEY_FILE"] ?? ".state/keys/issuer.pem"
    do {
      return try TokenIssuer(
        privateKeyFile: path,
        issuer: ProcessInfo.processInfo.environment["CRM_TOKEN_ISSUER"] ?? TokenIssuer.defaultIssuer)
    } catch {
      throw ValidationError(
        "\(error.reason): pass --signing-key, set CRM_TOKEN_SIGNING_KEY_FILE, or run from the checkout after "
          + "deploy/local/stack up (it makes .state/keys)")
    }
  }

  func run() async throws {
    let target = try MethodIndex.find(service: service, method: method)
    let source = RequestSource.choose(json: json, standardInputIsTerminal: isatty(STDIN_FILENO) != 0)
    let requestJSON = source.read()
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = .critical  // librdkafka's reconnect chatter is not for the command line
      return handler
    }
    let kafka = KafkaConfiguration(
      bootstrapServers: (brokers ?? ProcessInfo.processInfo.environment["CRM_KAFKA_BROKERS"] ?? "127.0.0.1:19092")
        .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
      clientID: "crmctl"
    )
    let caller = try Principal(parsing: principal)
    let transport = KafkaClientTransport(
      configuration: .init(kafka: kafka, service: target.server, caller: caller, defaultTimeout: .seconds(timeout)),
      logger: Logger(label: "crmctl")
    )
    let tokens = TokenClientInterceptor(issuer: try issuer(), principal: caller, audience: [target.server])
    let client = GRPCClient(
      transport: transport,
      interceptors: [tokens]
        + (requestID.map { [RequestIDInterceptor(requestID: $0)] } ?? [])
    )
    let outcome: Result<String, any Error> = await withTaskGroup(of: Result<String, any Error>?.self) { group in
      group.addTask {
        try? await client.runConnections()
        return nil
      }
      let outcome = await Result { try await MethodCall.call(target, json: requestJSON, client: client) }
      client.beginGracefulShutdown()
      return outcome
    }
    switch outcome {
    case .success(let reply):
      print(reply)
    case .failure(let error as RPCError):
      FileHandle.standardError.write(Data("error: \(error.code) (\(error.code.rawValue)): \(error.message)\n".utf8))
      if error.code == .invalidArgument, source == .empty {
        FileHandle.standardError.write(Data((RequestSource.emptyRequestHint + "\n").utf8))
      }
      throw ExitCode(Int32(error.code.rawValue))
    case .failure(let error):
      FileHandle.standardError.write(Data("error: \(error)\n".utf8))
      throw ExitCode(Int32(RPCError.Code.invalidArgument.rawValue))
    }
  }
}

extension Result where Failure == any Error {
  init(catching body: () async throws -> Success) async {
    do { self = .success(try await body()) } catch { self = .failure(error) }
  }
}
