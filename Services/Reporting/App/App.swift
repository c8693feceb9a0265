import CRMRuntime
import Foundation
import ReportingService

@main
struct App {
  static func main() async {
    // `reporting users …`: the operator's command for the web edge's users instead of the service.
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "users" {
      exit(await UsersCommand.run(Array(arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
    }
    await ServiceMain.run(.reporting) { configuration in try buildApplication(configuration) }
  }
}
