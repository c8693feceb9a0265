import CRMReview
import Testing

/// What crosses the quality-control wall of a report's text (issue 15).
@Suite("Review items: redaction of report texts")
struct RedactionTests {
  static var names: KnownNames {
    var names = KnownNames()
    names.add("Петров Сергей Иванович", as: .client)
    names.add("ООО Ромашка", as: .company)
    names.add("Мария Соколова", as: .rep)
    names.add("Анна Кузнецова", as: .person)
    names.add("John Smith", as: .person)
    return names
  }

  func cleared(_ text: String, _ names: KnownNames = Self.names) -> String? {
    if case .cleared(let cleared) = TextRedactor(names: names).redact(text) { return cleared }
    return nil
  }

  @Test(arguments: [
    "+7 (912) 345-67-89", "8 912 345 67 89", "89123456789", "+79123456789", "8-912-345-67-89",
    "+7 495 123-45-67",
  ])
  func phonesInAnySpellingBecomePHONE(_ phone: String) throws {
    let text = try #require(cleared("Перезвонить по номеру \(phone) завтра"))
    #expect(!text.contains { $0.isNumber }, "\(text)")
    #expect(text.contains("[PHONE]") || text.contains("[NUMBER]"), "\(text)")
  }

  @Test func addressesLinksAndLongNumbersGo() throws {
    let text = try #require(
      cleared(
        "Почта ivan.petrov@romashka.ru, сайт https://romashka.ru/price и romashka.рф, ИНН 7707083893, счёт 4081 7810 0999"
      ))
    #expect(text.contains("[EMAIL]"))
    #expect(text.contains("[URL]"))
    #expect(text.contains("[NUMBER]"))
    #expect(!text.contains("romashka"), "\(text)")
    #expect(!text.contains { $0.isNumber }, "\(text)")
  }

  @Test func knownNamesInInflectedFormsAndLatinSpellingsGo() throws {
    let text = try #require(
      cleared(
        "Встретился с Петровым и Сергеем Ивановичем. Петрову понравилось, Petrova тоже. "
          + "Ромашке нужны прицепы, в Ромашку приедем. Мария Соколова обещала, Марии передать. "
          + "Анны не было; John Smith's office закрыт."))
    for canary in ["Петров", "Сергее", "Иванович", "Petrov", "Ромашк", "Мари", "Соколов", "Анн", "John", "Smith"] {
      #expect(!text.contains(canary), "\(canary) left in: \(text)")
    }
    #expect(text.contains("[CLIENT]"))
    #expect(text.contains("[COMPANY]"))
    #expect(text.contains("[REP]"))
    #expect(text.contains("[PERSON]"))
    // Ordinary words stay: the review still reads.
    #expect(text.contains("прицепы"))
    #expect(text.contains("понравилось"))
  }

  @Test func legalFormsAndCommonWordsStay() throws {
    let text = try #require(cleared("ООО рассматривает маркетинг и марку прицепа"))
    #expect(text == "ООО рассматривает маркетинг и марку прицепа")
  }

  @Test func aTextThatStillHoldsANameOrNumberIsWithheld() {
    let redactor = TextRedactor(names: Self.names)
    // A name glued into another word, which the word-by-word pass does not take.
    guard case .withheld(let reason) = redactor.redact("Звонил суперПетрову насчёт прицепа") else {
      Issue.record("a glued name was cleared")
      return
    }
    #expect(reason == .name)
    #expect(!reason.description.contains("Петров"), "the reason never quotes the text")
    // Digits spread out so that no pattern takes them as one number.
    guard case .withheld(let digits) = redactor.redact("код 9 1 2 x 3 4 5 y 6 7 8 9") else {
      Issue.record("spread digits were cleared")
      return
    }
    #expect(digits == .phone)
    // An address split so that the patterns miss it.
    guard case .withheld(let address) = redactor.redact("пишите на ivan @ mail . ru") else {
      Issue.record("a spread e-mail address was cleared")
      return
    }
    #expect(address == .email)
  }

  @Test func nothingKnownStillClearsNumbersAndAddresses() throws {
    let text = try #require(cleared("Клиент доволен, звонить +7 912 345-67-89", KnownNames()))
    #expect(text == "Клиент доволен, звонить [PHONE]")
  }
}

@Suite("Review items: codes")
struct ReviewCodeTests {
  @Test func codesAreStableDistinctAndKeyed() throws {
    let key = Array(repeating: UInt8(7), count: 32)
    let codes = try ReviewCodes(key: key)
    let rep = codes.code(.rep, "m-17")
    let again = try ReviewCodes(key: key)
    #expect(rep == again.code(.rep, "m-17"), "stable over time and replicas")
    #expect(rep.count == 16)
    #expect(rep.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
    #expect(rep != codes.code(.client, "m-17"), "the kind is part of the code")
    #expect(rep != codes.code(.rep, "m-18"))
    let otherKey = try ReviewCodes(key: Array(repeating: UInt8(8), count: 32))
    #expect(rep != otherKey.code(.rep, "m-17"))
    #expect(!rep.lowercased().contains("m17"))
    #expect(throws: InvalidCodeKey.self) { try ReviewCodes(key: Array(repeating: 1, count: 31)) }
  }
}
