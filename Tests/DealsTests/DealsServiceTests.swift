import CRMContracts
import CRMDatabase
import CRMEvents
import CRMTestSupport
import Foundation
import GRPCCore
import Testing

@testable import DealsService

/// The deals service's rules over its real database (RPCs through the in-process transport).
@Suite("Deals service")
struct DealsServiceTests {
  @Test func movesGoForwardSkippingStagesAndRecordTheTransition() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let stage = Dictionary(uniqueKeysWithValues: pipeline.stages.map { ($0.name, $0.id) })
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      #expect(deal.stageID == stage["First contact"])
      #expect(deal.probability == 10 && !deal.ownerEstimated)
      #expect(deal.amount.currency == "RUB" && deal.amount.minorUnits == 150_000_00)

      let moved = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = stage["Proposal"]!
          $0.expectedVersion = deal.version
        })
      #expect(moved.stageID == stage["Proposal"] && moved.version == deal.version + 1 && moved.probability == 40)

      // Backwards: refused, naming both stages; nothing written, no event.
      let back = Crm_Deals_V1_MoveDealRequest.with {
        $0.dealID = deal.id
        $0.toStageID = stage["Presentation"]!
        $0.expectedVersion = moved.version
      }
      #expect(await statusCode { try await context.deals.moveDeal(back) } == .failedPrecondition)
      let message = await failure { try await context.deals.moveDeal(back) }
      #expect(message.contains("\"Proposal\"") && message.contains("\"Presentation\""), "\(message)")
      // Sideways (the same stage): refused too.
      var same = back
      same.toStageID = stage["Proposal"]!
      #expect(await statusCode { try await context.deals.moveDeal(same) } == .failedPrecondition)
      // A stage id that is nobody's.
      same.toStageID = UUID().uuidString
      #expect(await statusCode { try await context.deals.moveDeal(same) } == .invalidArgument)

      let history = try await context.deals.getDeal(.with { $0.dealID = deal.id })
      #expect(history.deal.version == moved.version)
      #expect(history.transitions.count == 1)
      let transition = try #require(history.transitions.first)
      #expect(transition.fromStageID == stage["First contact"] && transition.toStageID == stage["Proposal"])
      #expect(transition.skippedStageIds == [stage["Presentation"]!])
      #expect(transition.actor == "head_of_sales:head-1")

      let events = try await context.events("crm.deals.v1.DealMoved")
      #expect(events.count == 1)
      let event = try Crm_Deals_V1_DealMoved(serializedBytes: events[0].payload)
      #expect(event.transition.skippedStageIds == [stage["Presentation"]!])
      #expect(events[0].aggregateVersion == moved.version)
    }
  }

  @Test func staleVersionsAreAbortedAndFiftyConcurrentMoversWinOncePerVersion() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      var version = deal.version
      for target in pipeline.stages.dropFirst().prefix(3) {
        let expected = version
        let codes = await withTaskGroup(of: RPCError.Code?.self) { group in
          for _ in 0..<50 {
            group.addTask {
              await statusCode {
                try await context.deals.moveDeal(
                  .with {
                    $0.dealID = deal.id
                    $0.toStageID = target.id
                    $0.expectedVersion = expected
                  })
              }
            }
          }
          return await group.reduce(into: [RPCError.Code?]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == nil }.count == 1, "one success at version \(version)")
        #expect(codes.filter { $0 == .aborted }.count == 49, "\(codes)")
        version += 1
      }
      #expect(try await context.count("SELECT count(*)::int FROM deal_transitions") == 3)
      #expect(try await context.events("crm.deals.v1.DealMoved").count == 3)
      // A stale version also carries the current one.
      do {
        _ = try await context.deals.estimateProbability(
          .with {
            $0.dealID = deal.id
            $0.probability = 50
            $0.expectedVersion = deal.version
          })
        Issue.record("a stale version was accepted")
      } catch let error as RPCError {
        #expect(error.code == .aborted)
        #expect(error.metadata[stringValues: "crm-current-version"].first(where: { _ in true }) == "\(version)")
      }
    }
  }

  @Test func objectionsAreKeptWithTheirStageAndALossRecordsWhereAndWhy() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let opened = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let first = try await context.deals.raiseObjection(
        .with {
          $0.dealID = opened.id
          $0.reason = "Подумаю"
          $0.kind = .stall
          $0.expectedVersion = opened.version
        })
      // A real objection must state the client's conditions.
      let noConditions = Crm_Deals_V1_RaiseObjectionRequest.with {
        $0.dealID = opened.id
        $0.reason = "Too expensive"
        $0.kind = .real
        $0.expectedVersion = first.version
      }
      #expect(await statusCode { try await context.deals.raiseObjection(noConditions) } == .invalidArgument)
      #expect(await failure { try await context.deals.raiseObjection(noConditions) }.hasPrefix("conditions:"))
      let moved = try await context.deals.moveDeal(
        .with {
          $0.dealID = opened.id
          $0.toStageID = pipeline.stages[2].id
          $0.expectedVersion = first.version
        })
      var real = noConditions
      real.conditions = "Buys at 10% off with delivery included"
      real.expectedVersion = moved.version
      let deal = try await context.deals.raiseObjection(real)

      let history = try await context.deals.getDeal(.with { $0.dealID = deal.id })
      #expect(history.objections.map(\.stageID) == [pipeline.stages[0].id, pipeline.stages[2].id])
      #expect(history.objections.map(\.kind) == [.stall, .real])
      #expect(history.objections[1].conditions == real.conditions)

      // The pipeline's reason, spelt as the pipeline spells it.
      let lost = try await context.deals.loseDeal(
        .with {
          $0.dealID = deal.id
          $0.reason = "price TOO high"
          $0.expectedVersion = deal.version
        })
      #expect(lost.status == .lost && lost.lossStageID == pipeline.stages[2].id)
      #expect(lost.lossReason == "Price too high" && lost.hasClosedAt)
      let event = try Crm_Deals_V1_DealLost(
        serializedBytes: try #require(try await context.events("crm.deals.v1.DealLost").first).payload)
      #expect(event.lastObjection.reason == "Too expensive" && event.lastObjection.kind == .real)
      #expect(event.deal.lossStageID == pipeline.stages[2].id)

      // Closed deals do not change.
      let eventsBefore = try await context.count("SELECT count(*)::int FROM outbox")
      let moveClosed = Crm_Deals_V1_MoveDealRequest.with {
        $0.dealID = lost.id
        $0.toStageID = pipeline.stages[4].id
        $0.expectedVersion = lost.version
      }
      let winClosed = Crm_Deals_V1_WinDealRequest.with {
        $0.dealID = lost.id
        $0.expectedVersion = lost.version
      }
      #expect(await statusCode { try await context.deals.moveDeal(moveClosed) } == .failedPrecondition)
      #expect(await statusCode { try await context.deals.winDeal(winClosed) } == .failedPrecondition)
      #expect(try await context.count("SELECT count(*)::int FROM outbox") == eventsBefore)

      // Free text is a loss reason too.
      let other = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let free = try await context.deals.loseDeal(
        .with {
          $0.dealID = other.id
          $0.reason = "Company closed down"
          $0.expectedVersion = other.version
        })
      #expect(free.lossReason == "Company closed down" && free.lossStageID == pipeline.stages[0].id)
    }
  }

  @Test func theOwnersEstimateStandsBesideTheStageDefaultUntilTheNextMove() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let estimated = try await context.deals.estimateProbability(
        .with {
          $0.dealID = deal.id
          $0.probability = 35
          $0.expectedVersion = deal.version
        })
      #expect(estimated.probability == 35 && estimated.ownerProbability == 35 && estimated.ownerEstimated)
      let event = try Crm_Deals_V1_ProbabilityEstimated(
        serializedBytes: try #require(try await context.events("crm.deals.v1.ProbabilityEstimated").first).payload)
      #expect(event.stageDefault == 10 && event.ownerEstimate == 35)
      for bad: Int32 in [-1, 101] {
        #expect(
          await statusCode {
            try await context.deals.estimateProbability(
              .with {
                $0.dealID = deal.id
                $0.probability = bad
                $0.expectedVersion = estimated.version
              })
          } == .invalidArgument)
      }
      let moved = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[1].id
          $0.expectedVersion = estimated.version
        })
      #expect(moved.probability == 20 && !moved.ownerEstimated)
      let won = try await context.deals.winDeal(
        .with {
          $0.dealID = deal.id
          $0.expectedVersion = moved.version
        })
      #expect(won.status == .won)
      #expect(try await context.events("crm.deals.v1.DealWon").count == 1)
    }
  }

  @Test func badInputIsRefusedNamingTheFieldAndWritesNothing() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let contact = try await context.knownContact()
      let base = Crm_Deals_V1_OpenDealRequest.with {
        $0.contactID = contact
        $0.pipelineID = pipeline.id
        $0.ownerID = "manager-1"
        $0.kind = .consultative
      }
      func with(_ change: (inout Crm_Deals_V1_OpenDealRequest) -> Void) -> Crm_Deals_V1_OpenDealRequest {
        var request = base
        change(&request)
        return request
      }
      let cases: [(String, RPCError.Code, Crm_Deals_V1_OpenDealRequest)] = [
        ("amount.minor_units", .invalidArgument, with { $0.amount = money(-5, "RUB") }),
        ("amount.currency", .invalidArgument, with { $0.amount = money(5, "ABC") }),
        ("kind", .invalidArgument, with { $0.kind = .unspecified }),
        ("owner_id", .invalidArgument, with { $0.ownerID = " " }),
        ("contact_id", .invalidArgument, with { $0.contactID = "not-an-id" }),
        ("pipeline", .notFound, with { $0.pipelineID = UUID().uuidString }),
        ("contact", .notFound, with { $0.contactID = UUID().uuidString }),
        ("company", .notFound, with { $0.companyID = UUID().uuidString }),
        ("expected_close", .invalidArgument, with { $0.expectedClose = date(2020, 1, 1) }),
      ]
      for (field, code, request) in cases {
        let got = await statusCode { try await context.deals.openDeal(request) }
        let message = await failure { try await context.deals.openDeal(request) }
        #expect(got == code, "\(field): \(message)")
        #expect(message.hasPrefix(field), "\(message)")
      }
      #expect(try await context.count("SELECT count(*)::int FROM deals") == 0)
      #expect(
        try await context.count("SELECT count(*)::int FROM outbox WHERE type <> 'crm.deals.v1.PipelineDefined'") == 0)

      let deal = try await context.openDeal(contact: contact, pipeline: pipeline)
      let amount = Crm_Deals_V1_ChangeAmountRequest.with {
        $0.dealID = deal.id
        $0.amount = money(-1, "EUR")
        $0.expectedVersion = deal.version
      }
      #expect(await statusCode { try await context.deals.changeAmount(amount) } == .invalidArgument)
      #expect(
        await statusCode { try await context.deals.getDeal(.with { $0.dealID = UUID().uuidString }) } == .notFound)
      var changed = amount
      changed.amount = money(99_00, "eur")
      let after = try await context.deals.changeAmount(changed)
      #expect(after.amount.currency == "EUR" && after.amount.minorUnits == 99_00)
      let event = try Crm_Deals_V1_DealAmountChanged(
        serializedBytes: try #require(try await context.events("crm.deals.v1.DealAmountChanged").first).payload)
      #expect(event.previous.currency == "RUB" && event.deal.amount.minorUnits == 99_00)
      // An archived contact gets no new deal.
      try await context.deliver(Crm_Contacts_V1_ContactArchived.with { $0.contactID = contact }, aggregateID: contact)
      #expect(
        await statusCode { try await context.openDeal(contact: contact, pipeline: pipeline) } == .failedPrecondition)
    }
  }

  @Test func pipelinesChangeWithoutBreakingOpenDeals() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let atPresentation = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[1].id
          $0.expectedVersion = deal.version
        })
      // Rename the first stage, retire the one the deal stands on, add a stage after it.
      var revision = DealsHarness.pipelineRequest(line: "equipment")
      revision.pipelineID = pipeline.id
      revision.expectedVersion = pipeline.version
      revision.stages = pipeline.stages
      revision.stages[0].name = "First call"
      revision.stages[1].retired = true
      revision.stages.insert(
        .with {
          $0.name = "Demo"
          $0.result = "The client saw it work"
          $0.defaultProbability = 30
        }, at: 2)
      let revised = try await context.deals.definePipeline(revision)
      #expect(revised.version == pipeline.version + 1)
      #expect(
        revised.stages.map(\.name) == [
          "First call", "Presentation", "Demo", "Proposal", "Contract approval", "Invoice payment",
        ])
      #expect(revised.stages.map(\.position) == [1, 2, 3, 4, 5, 6])
      #expect(revised.stages[1].retired && revised.stages[1].id == pipeline.stages[1].id)

      // The deal on the retired stage is still there and moves on, skipping the new stage.
      let moved = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = revised.stages[3].id
          $0.expectedVersion = atPresentation.version
        })
      let transition = try #require(try await context.deals.getDeal(.with { $0.dealID = moved.id }).transitions.last)
      #expect(transition.skippedStageIds == [revised.stages[2].id])
      // New deals start at the first stage still in use; removing a stage is refused.
      var dropping = revision
      dropping.stages = Array(revised.stages.dropLast())
      dropping.expectedVersion = revised.version
      #expect(await statusCode { try await context.deals.definePipeline(dropping) } == .invalidArgument)
      // A stale revision is aborted; a second pipeline for the line is refused.
      #expect(await statusCode { try await context.deals.definePipeline(revision) } == .aborted)
      #expect(
        await statusCode { try await context.deals.definePipeline(DealsHarness.pipelineRequest(line: "equipment")) }
          == .failedPrecondition)
      #expect(try await context.events("crm.deals.v1.PipelineDefined").count == 2)
      #expect(try await context.deals.listPipelines(.init()).pipelines.map(\.id) == [pipeline.id])
    }
  }

  @Test func listsFilterAndPageAndAContactsOpenDealsAreFound() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let contact = try await context.knownContact()
      var opened: [Crm_Deals_V1_Deal] = []
      for index in 0..<7 {
        opened.append(
          try await context.openDeal(contact: contact, pipeline: pipeline, owner: index % 2 == 0 ? "anna" : "boris"))
      }
      _ = try await context.deals.winDeal(
        .with {
          $0.dealID = opened[0].id
          $0.expectedVersion = opened[0].version
        })
      var seen: [String] = []
      var token = ""
      repeat {
        let page = try await context.deals.listDeals(
          .with {
            $0.ownerID = "anna"
            $0.status = .open
            $0.page = .with {
              $0.pageSize = 2
              $0.pageToken = token
            }
          })
        #expect(page.deals.count <= 2)
        seen += page.deals.map(\.id)
        token = page.nextPageToken
      } while !token.isEmpty
      #expect(seen == [2, 4, 6].map { opened[$0].id })
      #expect(
        await statusCode { try await context.deals.listDeals(.with { $0.page = .with { $0.pageSize = 101 } }) }
          == .invalidArgument)
      let open = try await context.deals.listOpenDealsOfContact(.with { $0.contactID = contact })
      #expect(open.deals.map(\.id) == opened.dropFirst().map(\.id))
      #expect(
        await statusCode { try await context.deals.listOpenDealsOfContact(.with { $0.contactID = UUID().uuidString }) }
          == .notFound)
    }
  }

  @Test func aConvertedLeadOpensOneDealHoweverOftenItArrives() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let converted = Crm_Contacts_V1_LeadConverted.with {
        $0.lead = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.ownerID = "manager-7"
          $0.source = "website"
          $0.businessLine = "equipment"
        }
        $0.contactID = UUID().uuidString.lowercased()
        $0.pipelineID = pipeline.id
      }
      // Two deliveries with different event ids: the inbox cannot tell them apart, the lead can.
      try await context.deliver(converted, aggregateID: converted.lead.id, actor: "manager-7")
      try await context.deliver(converted, aggregateID: converted.lead.id, actor: "manager-7")
      let deals = try await context.deals.listOpenDealsOfContact(.with { $0.contactID = converted.contactID }).deals
      #expect(deals.count == 1)
      let deal = try #require(deals.first)
      #expect(deal.leadID == converted.lead.id && deal.ownerID == "manager-7" && deal.source == "website")
      #expect(deal.kind == .consultative && deal.stageID == pipeline.stages[0].id)
      #expect(try await context.events("crm.deals.v1.DealOpened").count == 1)

      // A conversion into a pipeline that does not exist cannot be applied: rejected (dead letter).
      var unknown = converted
      unknown.lead.id = UUID().uuidString
      unknown.pipelineID = UUID().uuidString
      do {
        try await context.deliver(unknown, aggregateID: unknown.lead.id)
        Issue.record("a conversion into an unknown pipeline was applied")
      } catch {
        let rejected = try #require(transactionCause(of: error) as? EventRejected)
        #expect(rejected.reason.contains("pipeline \(unknown.pipelineID.lowercased()) does not exist"), "\(rejected)")
      }
    }
  }
}

extension DealsServiceTests {
  /// A lead converted into a contact the deals service knows (a duplicate card) opens the deal
  /// for the lead's owner but leaves the contact's owner as the contacts service set it.
  @Test func aLeadConvertedIntoAKnownContactLeavesTheContactsOwner() async throws {
    try await DealsHarness.with { context in
      let pipeline = try await context.salesPipeline()
      let contact = try await context.knownContact(owner: "manager-1")
      let converted = Crm_Contacts_V1_LeadConverted.with {
        $0.lead = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.ownerID = "manager-2"
          $0.source = "website"
          $0.businessLine = "equipment"
        }
        $0.contactID = contact
        $0.pipelineID = pipeline.id
      }
      try await context.deliver(converted, aggregateID: converted.lead.id, actor: "manager-2")
      let owners = try await context.count(
        "SELECT count(*)::int FROM known_contacts WHERE id = \(UUID(uuidString: contact)!) AND owner_id = 'manager-1'")
      #expect(owners == 1, "the contact's owner stays manager-1")
      let deals = try await context.deals.listOpenDealsOfContact(.with { $0.contactID = contact }).deals
      #expect(deals.map(\.ownerID) == ["manager-2"], "the deal is the lead owner's")
    }
  }
}

func money(_ minorUnits: Int64, _ currency: String) -> Crm_Common_V1_Money {
  .with {
    $0.minorUnits = minorUnits
    $0.currency = currency
  }
}

func date(_ year: Int32, _ month: Int32, _ day: Int32) -> Crm_Common_V1_Date {
  .with {
    $0.year = year
    $0.month = month
    $0.day = day
  }
}
