import CRMRuntime
import ReportingService

@main
struct App {
  static func main() async {
    await ServiceMain.run(.reporting) { configuration in try buildApplication(configuration) }
  }
}
