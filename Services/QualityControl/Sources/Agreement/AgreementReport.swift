import CRMContracts

/// The agreement reply: for each criterion of the rubric version, its kappa over the pairs of
/// scores of the double-reviewed items (first review against second).
enum AgreementReport {
  static func build(_ data: AgreementPairs) -> Crm_Qualitycontrol_V1_Agreement {
    .with { reply in
      reply.rubricVersion = data.rubric.version
      reply.doubleReviewedItems = Int64(data.items)
      reply.criteria = data.rubric.criteria.map { criterion in
        let kappa = Kappa.of(data.pairs[criterion.key] ?? [], scaleMax: Int(criterion.scaleMax))
        return .with {
          $0.criterion = criterion.key
          $0.label = criterion.label
          $0.scaleMax = criterion.scaleMax
          $0.pairs = Int64(kappa.pairs)
          $0.defined = kappa.weighted != nil
          $0.weightedKappa = rounded(kappa.weighted ?? 0)
          $0.unweightedKappa = rounded(kappa.unweighted ?? 0)
          $0.exactAgreement = rounded(kappa.exactAgreement)
        }
      }
    }
  }

  static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
