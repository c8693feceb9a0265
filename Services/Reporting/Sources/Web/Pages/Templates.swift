/// The pages' mustache templates (Russian, no JavaScript). `{{x}}` escapes HTML; the one
/// unescaped slot, `{{{content}}}`, takes a page the library rendered itself.
enum Templates {
  static let layout = """
    <!doctype html>
    <html lang="ru">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} — CRM</title>
    <style>
    body { font-family: sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
    header { background: #1d2330; color: #fff; padding: 0.6em 1.2em; display: flex; justify-content: space-between; align-items: center; }
    header form { margin: 0; }
    main { max-width: 52em; margin: 1.5em auto; background: #fff; padding: 1.2em 1.8em; border-radius: 6px; }
    main.wide { max-width: 110em; margin: 1em; }
    .error { background: #fde8e8; border: 1px solid #e0a0a0; padding: 0.6em 1em; border-radius: 4px; }
    .notice { background: #e6f4ea; border: 1px solid #9cc9a8; padding: 0.6em 1em; border-radius: 4px; }
    .text { white-space: pre-wrap; background: #f8f8f8; padding: 0.8em; border-left: 3px solid #8899bb; }
    label { display: block; margin: 0.5em 0 0.2em; }
    input[type=text], input[type=password] { width: 18em; padding: 0.3em; }
    button { padding: 0.4em 1.2em; margin-top: 0.8em; cursor: pointer; }
    fieldset { margin: 0.6em 0; border: 1px solid #ccd; }
    table { border-collapse: collapse; }
    td, th { padding: 0.2em 0.8em 0.2em 0; text-align: left; }
    </style>
    </head>
    <body>
    <header><span>CRM · {{title}}</span>{{#signedIn}}<span>{{shownAs}}
    <form method="post" action="/sign-out" style="display:inline"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="sign-out">Выйти</button></form></span>{{/signedIn}}</header>
    <main{{#wide}} class="wide"{{/wide}}>
    {{{content}}}
    </main>
    </body>
    </html>
    """

  static let signIn = """
    <h1>Вход</h1>
    {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
    <form method="post" action="/sign-in">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <label for="login">Логин</label>
    <input type="text" id="login" name="login" value="{{login}}" autocomplete="username" required>
    <label for="password">Пароль</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required>
    <div><button type="submit" id="sign-in">Войти</button></div>
    </form>
    """

  static let workspace = """
    <h1>Рабочее место проверяющего</h1>
    {{#accepted}}<p class="notice" id="notice">Оценка принята.</p>{{/accepted}}
    <h2>Мои показатели</h2>
    <table id="stats">
    <tr><th>Проверено всего</th><td id="reviews-submitted">{{submitted}}</td></tr>
    <tr><th>За эту неделю</th><td id="reviews-this-week">{{thisWeek}}</td></tr>
    <tr><th>Просрочено взятых</th><td id="leases-expired">{{expired}}</td></tr>
    <tr><th>Средняя оценка</th><td id="mean-score">{{meanScore}}</td></tr>
    </table>
    <p>Согласованность оценок (каппа Коэна) видит руководитель контроля качества.</p>
    <form method="post" action="/review/next">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="next-item">Взять следующий отчёт</button>
    </form>
    """

  static let empty = """
    <h1>Очередь</h1>
    <p id="empty">Сейчас нечего проверять{{#reason}}: {{reason}}{{/reason}}.</p>
    <p><a href="/review">К моим показателям</a></p>
    """

  static let item = """
    <h1>Отчёт: {{kind}} от {{occurredAt}}</h1>
    <table id="codes">
    <tr><th>Код отчёта</th><td>{{itemID}}</td></tr>
    <tr><th>Менеджер</th><td>{{repCode}}</td></tr>
    <tr><th>Клиент</th><td>{{clientCode}}</td></tr>
    {{#companyCode}}<tr><th>Компания</th><td>{{companyCode}}</td></tr>{{/companyCode}}
    {{#dealCode}}<tr><th>Сделка</th><td>{{dealCode}}</td></tr>{{/dealCode}}
    {{#context}}<tr><th>{{key}}</th><td>{{value}}</td></tr>{{/context}}
    </table>
    <h2>Текст</h2>
    <div class="text" id="redacted-text">{{text}}</div>
    <p>Взят до {{leaseExpiresAt}} (UTC).</p>
    <form method="post" action="/review/submit" id="review-form">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="item_id" value="{{itemID}}">
    <input type="hidden" name="lease_id" value="{{leaseID}}">
    <h2>{{rubricName}} (версия {{rubricVersion}})</h2>
    {{#criteria}}
    <fieldset><legend>{{label}} (вес {{weight}})</legend>
    {{#values}}<label style="display:inline; margin-right:1em"><input type="radio" name="score.{{key}}" value="{{value}}" id="score-{{key}}-{{value}}" required> {{value}}</label>{{/values}}
    </fieldset>
    {{/criteria}}
    <button type="submit" id="submit-review">Отправить оценку</button>
    </form>
    """

  static let error = """
    <h1>{{heading}}</h1>
    <p class="error" id="error">{{message}}</p>
    <p><a href="/">На главную</a></p>
    """
}
