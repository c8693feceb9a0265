import Foundation

/// Plans a history from its options: leads arrive over the months, managers convert or reject
/// them, deals walk their pipeline as each manager's planted strengths say, estimates are the
/// true chance times the manager's optimism.
public enum Planner {
  static let hour: TimeInterval = 3_600
  static let day: TimeInterval = 86_400
  /// The chance that a move skips the next stage (when there is one after it).
  static let skipChance = 0.15
  /// The chance that a manager states his own estimate after a move.
  static let estimateChance = 0.8
  /// The share of deals that come from leads (the rest are outbound).
  static let leadDealShare = 0.6

  public static func plan(_ options: HistoryOptions) -> HistoryPlan {
    var random = SeededRandom(seed: options.seed)
    let start = options.end.addingTimeInterval(-Double(max(1, options.months)) * 30 * day)
    // Deals span about a month in a long history and about ten days in a short one.
    let pace = options.months >= 3 ? 1.5 : 0.6
    var leads: [PlannedLead] = []
    var deals: [PlannedDeal] = []
    let managers = Catalogue.managers
    let total = max(options.deals, managers.count)
    let leadDeals = Int((Double(total) * leadDealShare).rounded())
    for dealIndex in 0..<total {
      let manager = managers[dealIndex % managers.count]
      let fromLead = dealIndex < leadDeals
      let line = fromLead ? Catalogue.equipment : Catalogue.service
      // Arrivals over the first 90% of the window, so most deals have time to move.
      let arrival = start.addingTimeInterval(random.double(in: 0..<0.9) * options.end.timeIntervalSince(start))
      let origin: PlannedDeal.Origin
      var opened = arrival
      if fromLead {
        // Rejected leads come before the one this manager converts (as many as his rate implies).
        while !random.chance(manager.leadConversion) {
          leads.append(
            lead(
              index: leads.count, manager: manager, at: arrival.addingTimeInterval(-random.double(in: 1...72) * hour),
              outcome: .rejected(
                at: arrival.addingTimeInterval(-random.double(in: 0.1...0.9) * hour),
                reason: random.pick(Catalogue.leadRejections)),
              dealIndex: nil, seed: options.seed, random: &random))
        }
        opened = arrival.addingTimeInterval(random.double(in: 2...48) * hour)
        let companyName = random.chance(0.6) ? "ООО «\(random.pick(companyWords)) \(leads.count + 1)»" : ""
        leads.append(
          lead(
            index: leads.count, manager: manager, at: arrival,
            outcome: .converted(at: opened, companyName: companyName),
            dealIndex: dealIndex, seed: options.seed, random: &random))
        origin = .lead(index: leads.count - 1)
      } else {
        let contact = contact(
          index: dealIndex, manager: manager, at: arrival, seed: options.seed, random: &random)
        opened = arrival.addingTimeInterval(random.double(in: 0.5...8) * hour)
        origin = .direct(
          contact: contact, openedAt: opened, amountMinor: amount(line, random: &random),
          source: random.pick(Catalogue.activeSources))
      }
      let steps = walk(
        line: line, manager: manager, openedAt: opened, needsAmount: fromLead, end: options.end, pace: pace,
        random: &random)
      // Those who fill optional fields say when they expect an outbound deal to close (a forecast
      // backtest reads it); a converted lead's deal is opened by the deals service, without one.
      let expectedClose =
        !fromLead && manager.fillsOptionalCardFields
        ? calendarDay(of: opened.addingTimeInterval(random.double(in: 10...40) * day * pace)) : nil
      var deal = PlannedDeal(
        index: dealIndex, managerID: manager.id, line: line, origin: origin, expectedClose: expectedClose,
        steps: steps)
      deal.nextStepTask = !deal.closes && random.chance(manager.plansNextSteps)
      deals.append(deal)
    }
    return HistoryPlan(options: options, start: start, leads: leads, deals: deals)
  }

  /// The steps of one deal until it closes or the history ends (it then stays open, quiet).
  static func walk(
    line: Catalogue.Line, manager: Catalogue.Manager, openedAt: Date, needsAmount: Bool, end: Date, pace: Double,
    random: inout SeededRandom
  ) -> [DealStep] {
    let advance = manager.advance[line.businessLine] ?? []
    let chances = trueWinChances(advance: advance, win: manager.win)
    let last = line.stages.count - 1
    let proposal = line.stages.count - 3  // the commercial proposal: offers are made there
    var steps: [DealStep] = []
    var stage = 0
    var time = openedAt
    func add(_ action: DealStep.Action, at: Date, offer: PlannedOffer? = nil, talk: Bool = true) {
      let since = steps.last?.at ?? openedAt
      let activities =
        talk
        ? [activity(between: since, and: at, stage: line.stages[stage], manager: manager, random: &random)] : []
      steps.append(DealStep(at: at, action: action, activities: activities, offer: offer))
    }
    if needsAmount {
      time = time.addingTimeInterval(random.double(in: 0.5...4) * hour)
      guard time < end else { return steps }  // opened just before the end: no amount yet
      add(.changeAmount(minorUnits: amount(line, random: &random)), at: time, talk: false)
    }
    while true {
      time = time.addingTimeInterval(random.double(in: 1...6) * day * pace)
      guard time < end else { break }  // still open when the history ends
      let moves = stage == last ? random.chance(manager.win) : random.chance(advance[stage])
      let offer =
        stage == proposal
        ? PlannedOffer(
          variant: random.pick(Catalogue.offerVariants), amountMinor: amount(line, random: &random), accepted: moves,
          declineReason: moves ? "" : random.pick(Catalogue.declineReasons))
        : nil
      if !moves, random.chance(0.6) {
        // Most losses follow an objection: a stall ("I'll think about it") or a real one.
        let objectionAt = time.addingTimeInterval(-random.double(in: 2...20) * hour)
        if objectionAt > (steps.last?.at ?? openedAt) {
          let objection = random.pick(Catalogue.objections)
          add(
            random.chance(0.5)
              ? .objection(real: false, reason: random.pick(Catalogue.stalls), conditions: "")
              : .objection(real: true, reason: objection.reason, conditions: objection.conditions),
            at: objectionAt)
        }
      } else if moves, stage > 0, random.chance(0.15) {
        // A real objection met and overcome.
        let objectionAt = time.addingTimeInterval(-random.double(in: 2...20) * hour)
        if objectionAt > (steps.last?.at ?? openedAt) {
          let objection = random.pick(Catalogue.objections)
          add(.objection(real: true, reason: objection.reason, conditions: objection.conditions), at: objectionAt)
        }
      }
      if stage == last {
        add(moves ? .win : .lose(reason: random.pick(line.lossReasons)), at: time, offer: offer)
        break
      }
      guard moves else {
        add(.lose(reason: random.pick(line.lossReasons)), at: time, offer: offer)
        break
      }
      var target = stage + 1
      if target < last, random.chance(skipChance) { target += 1 }
      add(.move(toStage: target, skipped: Array((stage + 1)..<target)), at: time, offer: offer)
      stage = target
      // Nothing after the end: the history is what happened before it.
      if random.chance(estimateChance), time.addingTimeInterval(hour) < end {
        let stated = (chances[stage] * manager.optimism * 100).rounded()
        add(.estimate(probability: Int32(min(99, max(1, stated)))), at: time.addingTimeInterval(hour), talk: false)
      }
    }
    return steps
  }

  /// The true chance to win from each stage, given the chances to move on (with the skips the
  /// walk makes) and to win at the last stage.
  static func trueWinChances(advance: [Double], win: Double) -> [Double] {
    let last = advance.count
    var chance = [Double](repeating: 0, count: last + 1)
    chance[last] = win
    for stage in stride(from: last - 1, through: 0, by: -1) {
      let next = stage + 1
      let onward =
        next < last ? (1 - skipChance) * chance[next] + skipChance * chance[next + 1] : chance[next]
      chance[stage] = advance[stage] * onward
    }
    return chance
  }

  static func activity(
    between from: Date, and to: Date, stage: String, manager: Catalogue.Manager, random: inout SeededRandom
  ) -> PlannedActivity {
    let meeting = random.chance(0.4)
    let span = max(60, to.timeIntervalSince(from))
    let at = from.addingTimeInterval(span * random.double(in: 0.3...0.9))
    var context = ["client_mood": random.pick(["warm", "neutral", "cold"])]
    if meeting {
      context["meeting_place"] = random.pick(Catalogue.attributes[0].choices)
      context["decision_maker_present"] = random.pick(["yes", "no"])
    }
    // The report says what a good one says as often as the manager's habit has it.
    let said = Catalogue.reportElements.filter { _ in random.chance(manager.reportQuality) }.map(\.phrase)
    return PlannedActivity(
      meeting: meeting, at: at,
      text: ([meeting ? "Встреча на этапе «\(stage)»." : "Звонок на этапе «\(stage)»."] + said).joined(separator: " "),
      context: context)
  }

  /// The UTC calendar day of `instant`.
  static func calendarDay(of instant: Date) -> (year: Int32, month: Int32, day: Int32) {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let parts = calendar.dateComponents([.year, .month, .day], from: instant)
    return (Int32(parts.year!), Int32(parts.month!), Int32(parts.day!))
  }

  static func amount(_ line: Catalogue.Line, random: inout SeededRandom) -> Int64 {
    let rubles = line.kind == "consultative" ? random.int(in: 500...5_000) * 1_000 : random.int(in: 50...400) * 1_000
    return Int64(rubles) * 100
  }

  static let firstNames = ["Иван", "Пётр", "Анна", "Ольга", "Сергей", "Мария", "Николай", "Елена", "Андрей", "Татьяна"]
  static let lastNames = ["Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Морозов", "Волков", "Лебедев"]
  static let companyWords = ["Агро", "Транс", "Строй", "Логистик", "Ферма", "Техно"]

  /// A Russian mobile number of the seed and index: +79 and nine digits, one per person.
  static func phone(seed: UInt64, kind: UInt64, index: Int) -> String {
    let number = (seed &* 1_000_003 &+ kind &* 500_000_000 &+ UInt64(index)) % 1_000_000_000
    return "+79" + String(repeating: "0", count: 9 - String(number).count) + String(number)
  }

  static func lead(
    index: Int, manager: Catalogue.Manager, at: Date, outcome: PlannedLead.Outcome, dealIndex: Int?, seed: UInt64,
    random: inout SeededRandom
  ) -> PlannedLead {
    PlannedLead(
      index: index, managerID: manager.id,
      name: "\(random.pick(firstNames)) \(random.pick(lastNames))",
      phone: phone(seed: seed, kind: 0, index: index), source: random.pick(Catalogue.leadSources), createdAt: at,
      outcome: outcome, dealIndex: dealIndex)
  }

  static func contact(
    index: Int, manager: Catalogue.Manager, at: Date, seed: UInt64, random: inout SeededRandom
  ) -> PlannedContact {
    let fills = manager.fillsOptionalCardFields
    return PlannedContact(
      name: "\(random.pick(firstNames)) \(random.pick(lastNames))",
      phone: phone(seed: seed, kind: 1, index: index),
      email: fills ? "client\(index + 1).s\(seed)@example.ru" : "",
      position: fills ? random.pick(["Директор", "Главный инженер", "Снабженец", "Механик"]) : "",
      address: fills ? "г. Екатеринбург, ул. Заводская, \(random.int(in: 1...120))" : "",
      birthday: fills
        ? (Int32(random.int(in: 1960...1995)), Int32(random.int(in: 1...12)), Int32(random.int(in: 1...28)))
        : nil,
      notes: fills && random.chance(0.7) ? "Парк техники: \(random.int(in: 2...40)) единиц" : "",
      createdAt: at)
  }
}
