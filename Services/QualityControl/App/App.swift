import CRMRuntime
import QualityControlService

@main
struct App {
  static func main() async {
    await ServiceMain.run(.qualityControl) { configuration in try buildApplication(configuration) }
  }
}
