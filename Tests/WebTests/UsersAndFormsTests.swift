import CRMDomain
import CRMIdentity
import Testing

@testable import ReportingService

@Suite("Web edge: users and forms (pure rules)")
struct UsersAndFormsTests {
  @Test func aUserIsCheckedFieldByField() throws {
    let manager = try WebUser(login: "ivanov", displayName: " Иван ", roles: [.manager], managerID: "m-17")
    #expect(manager.displayName == "Иван")
    #expect(manager.principal.description == "manager:m-17")
    let reviewer = try WebUser(login: "r-1", displayName: "Р", roles: [.qcReviewer], managerID: nil)
    #expect(reviewer.principal.description == "qc_reviewer:r-1")
    let refused: [(() throws -> WebUser, String)] = [
      ({ try WebUser(login: "Ivanov", displayName: "И", roles: [.manager], managerID: "m-1") }, "login"),
      ({ try WebUser(login: "i", displayName: "", roles: [.manager], managerID: "m-1") }, "name"),
      ({ try WebUser(login: "i", displayName: "И", roles: [.manager], managerID: nil) }, "manager-id"),
      ({ try WebUser(login: "i", displayName: "И", roles: [.qcReviewer], managerID: "m-1") }, "manager-id"),
      ({ try WebUser(login: "i", displayName: "И", roles: [.qcReviewer, .headOfSales], managerID: nil) }, "roles"),
      ({ try WebUser(login: "i", displayName: "И", roles: [.operator], managerID: nil) }, "roles"),
      ({ try WebUser(login: "i", displayName: "И", roles: [], managerID: nil) }, "roles"),
      ({ try WebUser(login: "i", displayName: "И\u{202E}", roles: [.qcHead], managerID: nil) }, "name"),
    ]
    for (make, field) in refused {
      #expect(throws: InvalidField.self) { try make() }
      do { _ = try make() } catch { #expect((error as? InvalidField)?.field == field) }
    }
  }

  @Test func theUsersCommandParsesItsArguments() throws {
    #expect(try UsersCommand.parse(["list"]) == .list)
    #expect(try UsersCommand.parse(["disable", "r-1"]) == .disable("r-1"))
    #expect(
      try UsersCommand.parse(["put", "h-1", "--name", "Глава", "--roles", "head_of_sales"])
        == .put(try WebUser(login: "h-1", displayName: "Глава", roles: [.headOfSales], managerID: nil)))
    for bad in [
      ["put", "x", "--name"], ["put", "x", "--roles", "qc_reviewer"], ["put", "x", "--name", "X", "--roles", "boss"],
      ["put", "x", "--name", "X", "--name", "Y", "--roles", "qc_head"], ["remove", "x"], [],
    ] {
      #expect(throws: InvalidField.self, "\(bad)") { try UsersCommand.parse(bad) }
    }
  }

  @Test func passwordsAreBoundedAndHashed() async throws {
    #expect(throws: InvalidField.self) { try Passwords.checked("short") }
    #expect(throws: InvalidField.self) { try Passwords.checked(String(repeating: "я", count: 37)) }
    #expect(throws: InvalidField.self) { try Passwords.checked("with a\u{7}bell inside") }
    let hash = await Passwords.hash("long enough password", cost: 4)
    #expect(await Passwords.verify("long enough password", hash: hash))
    #expect(!(await Passwords.verify("long enough passwore", hash: hash)))
    #expect(!(await Passwords.verify("long enough password", hash: nil)))
  }

  @Test func formsDecodeAndRefuseWhatIsNotTheirs() throws {
    let form = try WebForm("a=%D0%AF+b&c=", allowed: ["a", "c"])
    #expect(form.fields == ["a": "Я b", "c": ""])
    #expect(try WebForm("score.x=1&score.y=2", allowed: [], prefixes: ["score."]).fields.count == 2)
    for body in ["a=1&a=2", "b=1", "a=%ZZ", "a=%C3%28"] {
      #expect(throws: WebError.self, "\(body)") { try WebForm(body, allowed: ["a"]) }
    }
  }
}
