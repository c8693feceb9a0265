/// The dashboard's templates (Russian, no JavaScript): the page with its nav and GET form, one
/// partial per section, and the SVG charts as partials placing numbers computed in Swift. Every
/// `{{x}}` escapes HTML; there is no unescaped slot here.
enum DashboardTemplates {
  static let all: [(String, String)] = [
    ("dashboard", page), ("dashboard-funnel", funnel), ("dashboard-losses", losses),
    ("dashboard-forecast", forecast), ("dashboard-team", team), ("dashboard-leaderboard", leaderboard),
    ("bar", bar), ("columns", columns),
  ]

  static let page = """
    <style>
    nav.sections a { margin-right: 1.2em; } nav.sections a.current { font-weight: bold; text-decoration: none; color: #1d2330; }
    form.filters { display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; align-items: end; background: #f4f5f7; padding: 0.6em 0.8em; border-radius: 4px; }
    form.filters label { margin: 0; font-size: 0.85em; } form.filters input, form.filters select { display: block; padding: 0.2em; }
    form.filters button { margin-top: 0; }
    table.report { border-collapse: collapse; font-size: 0.85em; margin: 0.4em 0 1.2em; }
    table.report th, table.report td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e6ec; text-align: right; vertical-align: middle; }
    table.report th:first-child, table.report th.name, table.report td.name { text-align: left; }
    table.report tr.team td { font-weight: bold; background: #f2f5fb; }
    td.rate { white-space: nowrap; } td.rate small { color: #667; display: block; }
    p.empty { color: #667; font-style: italic; }
    svg.bar, svg.columns { vertical-align: middle; }
    </style>
    <h1>{{heading}}</h1>
    <p id="scope">{{scope}}</p>
    <nav class="sections">{{#nav}}<a href="{{href}}"{{#current}} class="current"{{/current}}>{{title}}</a>{{/nav}}</nav>
    {{#filters}}
    <form class="filters" method="get" action="{{action}}" id="filters">
    <label>С <input type="date" name="from" value="{{from}}"></label>
    <label>По <input type="date" name="to" value="{{to}}"></label>
    <label>Воронка <select name="pipeline">{{#pipelines}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/pipelines}}</select></label>
    <label>Тип сделок <select name="kind">{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></label>
    <label>Источник <input type="text" name="source" value="{{source}}" maxlength="100" style="width:9em"></label>
    {{#managers}}<label>Менеджер <select name="manager" id="manager">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select></label>{{/managers}}
    <label>Без движения, дней <input type="number" name="days" value="{{days}}" min="1" max="3650" style="width:5em"></label>
    <button type="submit" id="apply">Показать</button>
    </form>
    {{/filters}}
    {{#funnel}}{{> dashboard-funnel}}{{/funnel}}
    {{#losses}}{{> dashboard-losses}}{{/losses}}
    {{#forecast}}{{> dashboard-forecast}}{{/forecast}}
    {{#team}}{{> dashboard-team}}{{/team}}
    {{#leaderboard}}{{> dashboard-leaderboard}}{{/leaderboard}}
    """

  static let funnel = """
    <h2>Воронка{{#pipelineName}}: {{.}}{{/pipelineName}}</h2>
    {{^empty(stages)}}
    <table class="report" id="funnel">
    <tr><th>Этап / кто</th><th>Вошли</th><th>Дальше</th><th>Пропустили</th><th>Проиграны</th><th>Выиграны</th><th>Открыты</th><th>Конверсия в следующий этап (95 %)</th><th></th><th>В выигрыш</th><th>Медиана на этапе</th></tr>
    {{#stages}}
    <tr><td class="name" colspan="11"><b>{{position}}. {{name}}</b></td></tr>
    {{#rows}}
    <tr class="{{#team}}team{{/team}}" data-stage="{{position}}" data-owner="{{owner}}">
    <td class="name">{{who}}</td><td class="entered">{{entered}}</td><td class="advanced">{{advanced}}</td><td class="skipped">{{skipped}}</td><td class="lost">{{lost}}</td><td class="won">{{won}}</td><td class="open">{{open}}</td>
    {{#toNext}}<td class="rate to-next">{{percent}}{{#detail}}<small>{{.}}</small>{{/detail}}</td><td>{{#bar}}{{> bar}}{{/bar}}</td>{{/toNext}}
    {{#toWon}}<td class="rate to-won">{{percent}}{{#interval}}<small>{{.}}</small>{{/interval}}</td>{{/toWon}}
    <td class="median">{{median}}</td>
    </tr>
    {{/rows}}
    {{/stages}}
    </table>
    {{/empty(stages)}}
    {{^stages}}<p class="empty" id="funnel-empty">Воронка: нет данных за период.</p>{{/stages}}
    <h2>Лиды</h2>
    {{^empty(leads)}}
    <table class="report" id="leads">
    <tr><th>Источник / кто</th><th>Лиды</th><th>Сделки</th><th>Отклонены</th><th>Открыты</th><th>Конверсия</th><th></th><th class="name">Причины отказа</th></tr>
    {{#leads}}
    <tr class="{{#team}}team{{/team}}" data-source="{{source}}" data-owner="{{owner}}">
    <td class="name">{{source}} · {{who}}</td><td class="leads">{{leads}}</td><td class="converted">{{converted}}</td><td class="rejected">{{rejected}}</td><td class="open">{{open}}</td>
    {{#conversion}}<td class="rate">{{percent}}{{#detail}}<small>{{.}}</small>{{/detail}}</td><td>{{#bar}}{{> bar}}{{/bar}}</td>{{/conversion}}
    <td class="name">{{rejections}}</td>
    </tr>
    {{/leads}}
    </table>
    {{/empty(leads)}}
    {{^leads}}<p class="empty" id="leads-empty">Лиды: нет данных за период.</p>{{/leads}}
    """

  static let losses = """
    <h2>Потери</h2>
    <table class="report" id="loss-kinds">
    <tr><th>Проиграно сделок (команда)</th><td id="lost">{{lost}}</td><td></td></tr>
    <tr><th>После реального возражения</th><td id="lost-real">{{real}} ({{realShare}})</td><td>{{#realBar}}{{> bar}}{{/realBar}}</td></tr>
    <tr><th>После «подумаю»</th><td id="lost-stall">{{stall}} ({{stallShare}})</td><td>{{#stallBar}}{{> bar}}{{/stallBar}}</td></tr>
    </table>
    {{^empty(rows)}}
    <table class="report" id="losses">
    <tr><th>Этап</th><th class="name">Причина</th><th class="name">Возражение</th><th class="name">Кто</th><th>Сделки</th><th>Сумма</th></tr>
    {{#rows}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{stage}}</td><td class="name">{{reason}}</td><td class="name">{{kind}}</td><td class="name">{{who}}</td><td class="deals">{{deals}}</td><td>{{amounts}}</td></tr>{{/rows}}
    </table>
    {{/empty(rows)}}
    {{^rows}}<p class="empty" id="losses-empty">Потери: нет данных за период.</p>{{/rows}}
    <h2>Зависшие сделки: без движения и активности {{days}} дн. и больше</h2>
    {{^empty(byStage)}}
    <table class="report" id="stalled-by-stage"><tr><th>Этап</th><th>Сделок у команды</th></tr>
    {{#byStage}}<tr><td class="name">{{stage}}</td><td>{{deals}}</td></tr>{{/byStage}}
    </table>
    {{/empty(byStage)}}
    {{^empty(deals)}}
    <table class="report" id="stalled">
    <tr><th>Сделка</th><th class="name">Этап</th><th class="name">Кто</th><th>Сумма</th><th>Последний переход</th><th>Последняя активность</th><th>Без движения</th></tr>
    {{#deals}}<tr><td class="name">{{deal}}</td><td class="name">{{stage}}</td><td class="name">{{who}}</td><td>{{amount}}</td><td>{{lastMoved}}</td><td>{{lastActivity}}</td><td>{{idle}}</td></tr>{{/deals}}
    </table>
    {{/empty(deals)}}
    {{^deals}}<p class="empty" id="stalled-empty">Зависших сделок нет.</p>{{/deals}}
    <p>{{#firstPage}}<a href="{{.}}">В начало списка</a> {{/firstPage}}{{#next}}<a href="{{.}}" id="stalled-next">Дальше</a>{{/next}}</p>
    """

  static let forecast = """
    <h2>Взвешенный прогноз открытых сделок</h2>
    {{^empty(rows)}}
    <table class="report" id="forecast">
    <tr><th>Кто</th><th>Валюта</th><th>Сделки</th><th>Сумма</th><th>Прогноз (сумма × вероятность)</th><th>С поправкой</th><th>Коэффициент</th></tr>
    {{#rows}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td><td>{{currency}}</td><td>{{deals}}</td><td>{{amount}}</td><td class="raw">{{raw}}</td><td class="corrected">{{corrected}}</td><td>{{coefficient}}</td></tr>{{/rows}}
    </table>
    {{/empty(rows)}}
    {{^rows}}<p class="empty" id="forecast-empty">Открытых сделок нет.</p>{{/rows}}
    <h2>Калибровка: выиграно против обещанного вероятностями</h2>
    {{^empty(calibrations)}}
    <table class="report" id="calibration">
    <tr><th>Кто</th><th>Закрыто</th><th>Выиграно</th><th>Обещано</th><th>Свой коэффициент</th><th>С учётом команды</th><th>95 % интервал</th><th></th><th>Вес своей истории</th></tr>
    {{#calibrations}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td><td>{{closed}}</td><td>{{won}}</td><td>{{promised}}</td><td>{{raw}}</td><td class="coefficient">{{coefficient}}</td><td>{{interval}}</td><td>{{#bar}}{{> bar}}{{/bar}}</td><td>{{ownWeight}}</td></tr>{{/calibrations}}
    </table>
    <p>Черта — коэффициент 1 (обещания сбываются); {{prior}}.</p>
    {{/empty(calibrations)}}
    {{^calibrations}}<p class="empty">Калибровка: нет закрытых сделок.</p>{{/calibrations}}
    <h2>Проверка на прошлых месяцах (команда; месяцы по {{timeZone}})</h2>
    {{^empty(months)}}
    <table class="report" id="backtest">
    <tr><th>Месяц</th><th>Валюта</th><th>Сделки</th><th>Прогноз</th><th>С поправкой</th><th>Выиграно</th><th>Ошибка прогноза</th><th>Ошибка с поправкой</th></tr>
    {{#months}}<tr><td class="name">{{month}}{{^complete}} (идёт){{/complete}}</td><td>{{currency}}</td><td>{{deals}}</td><td>{{raw}}</td><td>{{corrected}}</td><td>{{won}}</td><td>{{rawError}}</td><td>{{correctedError}}</td></tr>{{/months}}
    </table>
    {{/empty(months)}}
    {{^months}}<p class="empty">Проверка: нет данных за период.</p>{{/months}}
    {{^empty(summary)}}
    <table class="report" id="backtest-summary">
    <tr><th>Валюта</th><th>Месяцев</th><th>Средняя ошибка прогноза</th><th>С поправкой</th><th>Поправка ближе</th><th>Дальше</th><th>Помогает</th></tr>
    {{#summary}}<tr><td class="name">{{currency}}</td><td>{{months}}</td><td>{{rawError}}</td><td>{{correctedError}}</td><td>{{closer}}</td><td>{{farther}}</td><td>{{#helps}}да{{/helps}}{{^helps}}нет{{/helps}}</td></tr>{{/summary}}
    </table>
    {{/empty(summary)}}
    """

  static let team = """
    <h2>Дисциплина: нарушения правил конца дня</h2>
    {{^empty(discipline)}}
    <table class="report" id="discipline">
    <tr><th>Кто</th><th>Дней с отчётом</th><th>Нарушений</th><th>В день</th><th>Не обработано</th><th>Без задачи</th><th>Просрочено</th><th>Тренд</th><th>По неделям</th></tr>
    {{#discipline}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td><td>{{days}}</td><td class="violations">{{violations}}</td><td>{{perDay}}</td><td>{{unprocessed}}</td><td>{{withoutTask}}</td><td>{{overdue}}</td><td>{{trend}}</td><td>{{#weeks}}{{> columns}}{{/weeks}}</td></tr>{{/discipline}}
    </table>
    {{/empty(discipline)}}
    {{^discipline}}<p class="empty" id="discipline-empty">Дисциплина: нет данных за период.</p>{{/discipline}}
    <h2>Заполненность карточек (необязательные поля)</h2>
    {{^empty(completeness)}}
    <table class="report" id="completeness">
    <tr><th>Кто</th><th>Контакты</th><th>Поля контактов</th><th></th><th>Только обязательные</th><th>Сделки</th><th>Поля сделок</th><th></th></tr>
    {{#completeness}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td><td>{{contacts}}</td><td>{{contactShare}}</td><td>{{#contactBar}}{{> bar}}{{/contactBar}}</td><td>{{mandatoryOnly}}</td><td>{{deals}}</td><td>{{dealShare}}</td><td>{{#dealBar}}{{> bar}}{{/dealBar}}</td></tr>{{/completeness}}
    </table>
    {{/empty(completeness)}}
    {{^completeness}}<p class="empty">Карточки: нет данных.</p>{{/completeness}}
    <h2>Контроль качества</h2>
    {{^empty(quality)}}
    <table class="report" id="quality">
    <tr><th>Кто</th><th>Проверок</th><th>Отчётов проверено</th><th>Средняя оценка</th><th></th><th>Встреч и звонков</th><th>Охват</th><th class="name">По неделям</th></tr>
    {{#quality}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td><td>{{reviews}}</td><td>{{items}}</td><td class="score">{{score}}</td><td>{{#scoreBar}}{{> bar}}{{/scoreBar}}</td><td>{{logged}}</td><td>{{coverage}}</td><td class="name">{{buckets}}</td></tr>{{/quality}}
    </table>
    {{/empty(quality)}}
    {{^quality}}<p class="empty">Контроль качества: нет данных за период.</p>{{/quality}}
    """

  static let leaderboard = """
    <h2>Рейтинг менеджеров (выигранное в {{currency}}; менеджеров в рейтинге: {{managers}})</h2>
    {{^empty(entries)}}
    <table class="report" id="leaderboard">
    <tr><th>Кто</th><th>Выиграно</th><th>Место</th><th>Сделок</th><th>Конверсия</th><th>Место</th><th>Активности</th><th>Место</th><th>Оценка КК</th><th>Место</th><th>Нарушений в день</th><th>Место</th></tr>
    {{#entries}}<tr class="{{#team}}team{{/team}}" data-owner="{{owner}}"><td class="name">{{who}}</td>{{#won}}<td class="won">{{value}}</td><td>{{rank}}</td>{{/won}}<td>{{wonDeals}}</td>{{#conversion}}<td class="rate">{{value}}<small>{{conversionInterval}}</small></td><td>{{rank}}</td>{{/conversion}}{{#activities}}<td>{{value}}</td><td>{{rank}}</td>{{/activities}}{{#quality}}<td>{{value}}</td><td>{{rank}}</td>{{/quality}}{{#discipline}}<td>{{value}}</td><td>{{rank}}</td>{{/discipline}}</tr>{{/entries}}
    </table>
    {{/empty(entries)}}
    {{^entries}}<p class="empty" id="leaderboard-empty">Рейтинг: нет данных за период.</p>{{/entries}}
    """

  static let bar = """
    <svg class="bar" width="{{width}}" height="14" viewBox="0 0 {{width}} 14" role="img" aria-label="{{label}}"><rect x="0" y="3" width="{{width}}" height="8" fill="#e6e9ef"/><rect x="0" y="3" width="{{fill}}" height="8" fill="{{color}}"/>{{#whisker}}<line x1="{{low}}" x2="{{high}}" y1="7" y2="7" stroke="#1d2330" stroke-width="1.5"/><line x1="{{low}}" x2="{{low}}" y1="2" y2="12" stroke="#1d2330"/><line x1="{{high}}" x2="{{high}}" y1="2" y2="12" stroke="#1d2330"/>{{/whisker}}{{#mark}}<line x1="{{.}}" x2="{{.}}" y1="0" y2="14" stroke="#c0392b" stroke-dasharray="2,1"/>{{/mark}}</svg>
    """

  static let columns = """
    <svg class="columns" width="{{width}}" height="28" viewBox="0 0 {{width}} 28" role="img" aria-label="{{label}}">{{#columns}}<rect x="{{x}}" y="{{y}}" width="8" height="{{height}}" fill="#4a78c2"><title>{{label}}</title></rect>{{/columns}}</svg>
    """
}
