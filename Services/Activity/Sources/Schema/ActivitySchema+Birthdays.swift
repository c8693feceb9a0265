import CRMDatabase

extension ActivitySchema {
  /// Birthdays (issue 14 item 5): one greeting per contact and year, and the days whose
  /// morning run went through every birthday.
  static let birthdayMigration = Migration(
    version: 8,
    name: "birthday greetings",
    statements: [
      // The claim: inserted in the transaction of the greeting's mail, activity and tasks, so
      // two replicas, or a run restarted halfway, greet each contact once a year.
      """
      CREATE TABLE birthday_greetings (
        contact_id uuid NOT NULL,
        year integer NOT NULL,
        day date NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'recorded', 'postcard')),
        activity_id uuid,
        mail_id uuid,
        postcard_task_id uuid,
        reminder_task_id uuid,
        greeted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (contact_id, year)
      )
      """,
      // A day whose run finished: a restarted replica does not ask the contacts service again.
      """
      CREATE TABLE birthday_runs (
        day date PRIMARY KEY,
        contacts integer NOT NULL,
        finished_at timestamptz NOT NULL DEFAULT now()
      )
      """,
    ]
  )
}
