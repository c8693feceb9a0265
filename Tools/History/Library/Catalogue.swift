/// What the generated history plants: the two business lines, the managers with their strengths
/// and optimism, the lead sources and the activity attributes. Fixed (only the seed varies the
/// history), so reporting tests can name them.
public enum Catalogue {
  /// One business line: its pipeline (stages with default probabilities) and loss reasons.
  public struct Line: Sendable, Codable, Equatable {
    public var businessLine: String
    public var pipelineName: String
    /// Consultative (inbound: deals come from converted leads) or active (outbound: the
    /// manager creates the contact and opens the deal).
    public var kind: String
    public var stages: [String]
    public var defaultProbabilities: [Int32]
    public var lossReasons: [String]
  }

  public static let equipment = Line(
    businessLine: "equipment", pipelineName: "Оборудование", kind: "consultative",
    stages: [
      "Первичный контакт", "Выявление потребностей", "Презентация", "Коммерческое предложение",
      "Согласование договора", "Оплата счёта",
    ],
    defaultProbabilities: [10, 20, 35, 50, 70, 90],
    lossReasons: ["Дорого", "Выбрали конкурента", "Нет бюджета", "Пропал, не отвечает"])

  public static let service = Line(
    businessLine: "service", pipelineName: "Сервис", kind: "active",
    stages: ["Холодный звонок", "Интерес", "Встреча", "Предложение", "Договор"],
    defaultProbabilities: [5, 15, 30, 50, 75],
    lossReasons: ["Не нужен сервис", "Дорого", "Свой сервисный отдел"])

  public static let lines = [equipment, service]

  /// A manager as planted: how likely he moves a deal on from each stage of each line (the rest
  /// are lost there), how likely he closes a deal at the last stage, how he inflates his
  /// estimates, how many leads he converts and whether he fills a card's optional fields.
  public struct Manager: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    /// Per business line, per stage but the last: the chance to move on (to the next stage or,
    /// sometimes, skipping one).
    public var advance: [String: [Double]]
    /// The chance to win a deal that reached a line's last stage.
    public var win: Double
    /// Stated probability = true probability × optimism (clamped to 1…99).
    public var optimism: Double
    public var leadConversion: Double
    public var fillsOptionalCardFields: Bool
    /// The chance that each element of a good report (`reportElements`) is in one of his meeting
    /// or call reports: what quality control's scores of him recover.
    public var reportQuality: Double
    /// The chance that a deal of his still open when the history ends has a next-step task set:
    /// what his end-of-day reports (deals without an open task) recover.
    public var plansNextSteps: Double
  }

  /// Six managers. m-early opens contact well and closes badly; m-late the reverse; m-steady is
  /// honest; m-inflated's estimates are ×1.6; m-careful is a pessimist; m-weak is weak all along
  /// (and hardly ever sets a next step).
  public static let managers: [Manager] = [
    manager(
      "m-early", "Алексей Ранний", early: 0.85, late: 0.35, win: 0.3, optimism: 1.3, leads: 0.75, fills: false,
      reports: 0.8, tasks: 0.5),
    manager(
      "m-late", "Борис Поздний", early: 0.5, late: 0.85, win: 0.85, optimism: 1.0, leads: 0.55, fills: true,
      reports: 0.5, tasks: 0.7),
    manager(
      "m-steady", "Виктория Ровная", early: 0.7, late: 0.7, win: 0.7, optimism: 1.0, leads: 0.65, fills: true,
      reports: 0.9, tasks: 0.9),
    manager(
      "m-inflated", "Дмитрий Оптимист", early: 0.65, late: 0.6, win: 0.55, optimism: 1.6, leads: 0.6, fills: false,
      reports: 0.6, tasks: 0.4),
    manager(
      "m-careful", "Галина Осторожная", early: 0.7, late: 0.75, win: 0.75, optimism: 0.8, leads: 0.6, fills: true,
      reports: 0.85, tasks: 0.9),
    manager(
      "m-weak", "Егор Слабый", early: 0.5, late: 0.45, win: 0.4, optimism: 1.2, leads: 0.45, fills: false,
      reports: 0.3, tasks: 0.1),
  ]

  /// A manager whose chance to move on goes linearly from `early` (the first stage) to `late`
  /// (the last but one), the same on both lines.
  static func manager(
    _ id: String, _ name: String, early: Double, late: Double, win: Double, optimism: Double, leads: Double,
    fills: Bool, reports: Double, tasks: Double
  ) -> Manager {
    var advance: [String: [Double]] = [:]
    for line in lines {
      let count = line.stages.count - 1
      advance[line.businessLine] = (0..<count).map { index in
        let share = count > 1 ? Double(index) / Double(count - 1) : 0
        return ((early + (late - early) * share) * 100).rounded() / 100
      }
    }
    return Manager(
      id: id, name: name, advance: advance, win: win, optimism: optimism, leadConversion: leads,
      fillsOptionalCardFields: fills, reportQuality: reports, plansNextSteps: tasks)
  }

  public static let leadSources = ["site", "incoming call", "exhibition", "referral"]
  public static let activeSources = ["cold call", "client base"]
  public static let leadRejections = ["Спам", "Не наш профиль", "Частное лицо, нужен розничный магазин", "Дубль"]

  /// Context attributes of activities (the catalogue is defined before any is logged).
  public struct Attribute: Sendable {
    public var key: String
    public var label: String
    public var choices: [String]
  }

  public static let attributes = [
    Attribute(
      key: "meeting_place", label: "Место встречи", choices: ["office", "client_site", "exhibition", "online"]),
    Attribute(key: "client_mood", label: "Настрой клиента", choices: ["warm", "neutral", "cold"]),
    Attribute(key: "decision_maker_present", label: "Был ЛПР", choices: ["yes", "no"]),
  ]

  /// What a good meeting or call report says: one rubric criterion each (scale 0 to 2, equal
  /// weights), scored by whether its phrase is in the (redacted) text — words no redaction
  /// touches (no word of a client's or company's name: those become [CLIENT] in any form).
  public struct ReportElement: Sendable {
    public var criterion: String
    public var label: String
    public var phrase: String
  }

  public static let reportElements = [
    ReportElement(criterion: "greeting", label: "Представился и поздоровался", phrase: "Представился и поздоровался."),
    ReportElement(
      criterion: "needs_identified", label: "Выяснил потребности", phrase: "Выяснил потребности и сроки."),
    ReportElement(
      criterion: "next_step_agreed", label: "Договорился о следующем шаге", phrase: "Договорились о следующем шаге."),
  ]
  public static let rubricName = "Отчёты о встречах и звонках (история)"

  public static let objections: [(reason: String, conditions: String)] = [
    ("Дорого", "Купит при скидке 7% и рассрочке на 6 месяцев"),
    ("Сроки поставки", "Купит при поставке до конца месяца"),
    ("Нужна гарантия дольше", "Купит при гарантии 3 года"),
  ]
  public static let stalls = ["Я подумаю", "Посоветуюсь с партнёром", "Вернёмся после праздников"]
  public static let offerVariants = ["A: скидка 5%", "B: рассрочка 6 месяцев", "C: сервис в подарок"]
  public static let declineReasons = ["Нашли дешевле", "Не устроили условия", "Отложили покупку"]
}
