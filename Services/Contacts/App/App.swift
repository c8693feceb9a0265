import CRMRuntime
import ContactsService

@main
struct App {
  static func main() async {
    await ServiceMain.run(.contacts) { configuration in try buildApplication(configuration) }
  }
}
