import ActivityService
import CRMRuntime

@main
struct App {
  static func main() async {
    await ServiceMain.run(.activity) { configuration in try buildApplication(configuration) }
  }
}
