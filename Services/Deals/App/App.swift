import CRMRuntime
import DealsService

@main
struct App {
  static func main() async {
    await ServiceMain.run(.deals) { configuration in try buildApplication(configuration) }
  }
}
