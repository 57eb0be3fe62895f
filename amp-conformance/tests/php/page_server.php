<?php
// An independent implementation of the AMP `create` API, written the way a PHP developer writes
// one from the public page (CONTRACT.md §1/§2): $_SERVER for the header, $_POST for the
// parameters, filter_var and ctype_digit for the values, SQLite through PDO for the reports.
// Where the page leaves a question open it answers it as PHP code naturally does, which is not
// always the reference resolution (CONTRACT.md §3): its own error wording, `01` accepted as a
// service id, NUL bytes in text not rejected, whitespace-only notes stored as sent, no 413.
//
// Router script for PHP's built-in server:
//   php -S 127.0.0.1:PORT page_server.php
// Environment:
//   AMP_PHP_KEY       the API_ID that is allowed (required)
//   AMP_PHP_SERVICES  services as `id=ip` or `id=none`, comma-separated: `1=203.0.113.10,3=none`
//   AMP_PHP_DB        path of the SQLite database file (created when missing)
//   AMP_PHP_BUG       one deliberate, realistic bug (empty: none); see bug() below
//
// Besides the API it offers an observer (CONTRACT.md §5): GET /reports/{id} with the same
// API_ID answers the stored report as JSON; 404 for an unknown id, 401 AMP001 without a key.

declare(strict_types=1);

// Production settings: a notice must never end up in the JSON. Errors go to the server's log
// (stderr of php -S), where the test harness looks for them.
ini_set('display_errors', '0');
ini_set('log_errors', '1');
error_reporting(E_ALL);

const API_PATH = '/modules/addons/abusemanagerpro/includes/api.php';
const NO_DEDICATED_IP = '(No Dedicated IP)';
const SUSPEND_METHODS = ['nosuspend', 'immediate', 'timelimit'];
const BUGS = [
    '',
    'strict-bool',        // allow_unsuspend: only 1/0/true/false; on/off/yes/no are AMP003
    'amp002-wording',     // AMP002 descriptions that do not name `action`
    'method-before-auth', // a non-POST request gets AMP002 before API_ID is looked at
    'exact-header',       // the key is read from getallheaders()['API_ID'] only (exact case)
    'category-untrimmed', // category is stored exactly as sent
    'notes-trimmed',      // additional_info and admin_notes are stored trimmed
    'first-key-wins',     // its own body parser keeps the first occurrence of a key
    'ipv6-as-sent',       // service_ip is stored as sent (trimmed), not canonicalised
    'zero-category',      // empty($_POST['category']): category "0" is "missing"
    'notes-truncated',    // notes are cut to 255 characters, as a VARCHAR(255) column would
    // Transformations PHP add-on code applies between $_POST and the database (issue 19):
    'nl2br-info',         // additional_info stored through nl2br() "for display"
    'ucfirst-category',   // category stored through ucfirst()
    'wordwrap-info',      // additional_info stored through wordwrap($t, 75, "\n", true)
    'strip-tags-category', // category stored through strip_tags() "for safety"
    'addslashes-notes',   // admin_notes stored through addslashes() (escaped twice)
    'latin1-text',        // text stored through a latin1 column: non-Latin text becomes '?'
    'substr-bytes-category', // category cut with substr($c, 0, 255): bytes, not characters
    'bool-cast',          // allow_unsuspend read as (bool) $_POST[...]: "false" is true
    'key-strcasecmp',     // the key compared with strcasecmp(): any letter case passes
    'key-request',        // the key read from $_REQUEST['API_ID'] when the header is absent
    'key-strpos',         // the key compared with strpos($allowed, $sent) !== false
];

function bug(): string
{
    $bug = (string) getenv('AMP_PHP_BUG');
    if (!in_array($bug, BUGS, true)) {
        // A harness mistake, not an API answer.
        http_response_code(500);
        header('Content-Type: text/plain');
        echo "unknown AMP_PHP_BUG $bug\n";
        exit;
    }
    return $bug;
}

function send_json(array $data, int $status = 200, int $flags = 0): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($data, $flags);
    exit;
}

function amp_error(string $code, string $description, int $status = 200): void
{
    send_json(['status' => 'error', 'error_code' => $code, 'error_description' => $description], $status);
}

function db(): PDO
{
    static $pdo = null;
    if ($pdo === null) {
        $path = getenv('AMP_PHP_DB') ?: sys_get_temp_dir() . '/amp_php_reports.sqlite';
        $pdo = new PDO('sqlite:' . $path, null, null, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
        ]);
        $pdo->exec('PRAGMA busy_timeout = 10000');
        $pdo->exec('CREATE TABLE IF NOT EXISTS mod_abusemanagerpro_reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            service_id INTEGER NOT NULL,
            category TEXT NOT NULL,
            service_ip TEXT NOT NULL,
            suspend_method TEXT NOT NULL,
            allow_unsuspend INTEGER NOT NULL DEFAULT 0,
            additional_info TEXT NOT NULL DEFAULT \'\',
            admin_notes TEXT NOT NULL DEFAULT \'\',
            created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
        )');
    }
    return $pdo;
}

/** The services as id => dedicated IP (null: none). */
function services(): array
{
    $services = [];
    foreach (explode(',', (string) getenv('AMP_PHP_SERVICES')) as $entry) {
        $entry = trim($entry);
        if ($entry === '') {
            continue;
        }
        [$id, $ip] = array_pad(explode('=', $entry, 2), 2, 'none');
        $services[(int) $id] = ($ip === 'none' || $ip === '') ? null : $ip;
    }
    return $services;
}

/** The API_ID the client presented ('' when none). */
function presented_key(bool $exactHeader, bool $fromRequest = false): string
{
    if ($fromRequest && !isset($_SERVER['HTTP_API_ID'])) {
        // A common fallback "for clients that cannot set headers".
        $key = $_REQUEST['API_ID'] ?? $_COOKIE['API_ID'] ?? '';
    } elseif ($exactHeader) {
        $headers = function_exists('getallheaders') ? getallheaders() : [];
        $key = $headers['API_ID'] ?? '';
    } else {
        // PHP maps the header `API_ID` (any case) to HTTP_API_ID.
        $key = $_SERVER['HTTP_API_ID'] ?? '';
    }
    return is_string($key) ? $key : '';
}

function authorised(string $key, string $bug = ''): bool
{
    $allowed = (string) getenv('AMP_PHP_KEY');
    if ($allowed === '' || $key === '') {
        return false;
    }
    if ($bug === 'key-strcasecmp') {
        return strcasecmp($allowed, $key) === 0;
    }
    if ($bug === 'key-strpos') {
        return strpos($allowed, $key) !== false;
    }
    return hash_equals($allowed, $key);
}

/** Text as a latin1 column gives it back: what Latin-1 cannot hold becomes '?'. */
function through_latin1(string $s): string
{
    $latin1 = @iconv('UTF-8', 'ISO-8859-1//TRANSLIT', $s);
    if ($latin1 === false) {
        return $s;
    }
    $back = iconv('ISO-8859-1', 'UTF-8', $latin1);
    return $back === false ? $s : $back;
}

function is_utf8(string $s): bool
{
    return function_exists('mb_check_encoding') ? mb_check_encoding($s, 'UTF-8') : preg_match('//u', $s) === 1;
}

function utf8_length(string $s): int
{
    return function_exists('mb_strlen') ? mb_strlen($s, 'UTF-8') : (int) preg_match_all('/./su', $s);
}

function utf8_cut(string $s, int $chars): string
{
    if (function_exists('mb_substr')) {
        return mb_substr($s, 0, $chars, 'UTF-8');
    }
    return preg_match('/^.{0,' . $chars . '}/su', $s, $m) === 1 ? $m[0] : $s;
}

/** The body parameters, keeping the FIRST occurrence of a repeated key (bug first-key-wins). */
function first_key_wins(string $body): array
{
    $params = [];
    foreach (explode('&', $body) as $pair) {
        if ($pair === '') {
            continue;
        }
        $parts = explode('=', $pair, 2);
        $key = urldecode($parts[0]);
        if ($key !== '' && !array_key_exists($key, $params)) {
            $params[$key] = urldecode($parts[1] ?? '');
        }
    }
    return $params;
}

function handle_api(string $bug): void
{
    $method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
    if ($bug === 'method-before-auth' && $method !== 'POST') {
        amp_error('AMP002', 'Invalid request: only POST requests with action=create are supported.');
    }

    if (!authorised(presented_key($bug === 'exact-header', $bug === 'key-request'), $bug)) {
        amp_error('AMP001', 'Unauthorized: a valid API_ID header is required.');
    }

    if ($bug === 'amp002-wording' && $method !== 'POST') {
        amp_error('AMP002', 'Only POST requests are supported.');
    }

    $post = $_POST;
    $contentType = strtolower($_SERVER['CONTENT_TYPE'] ?? '');
    if ($bug === 'first-key-wins' && $method === 'POST'
        && str_starts_with($contentType, 'application/x-www-form-urlencoded')) {
        $post = first_key_wins((string) file_get_contents('php://input'));
    }

    $action = $post['action'] ?? '';
    if (!is_string($action) || $action !== 'create') {
        amp_error('AMP002', $bug === 'amp002-wording'
            ? 'Invalid action.'
            : 'Missing or invalid action: the only supported action is create.');
    }

    // Every problem is collected, in the order of the page's parameter table.
    $invalid = [];

    $serviceId = $post['service_id'] ?? '';
    $service = null;
    if (!is_string($serviceId) || trim($serviceId) === '' || !ctype_digit($serviceId)) {
        $invalid[] = 'service_id';
    } else {
        $services = services();
        $id = (int) $serviceId;
        if (!array_key_exists($id, $services)) {
            $invalid[] = 'service_id';
        } else {
            $service = ['id' => $id, 'ip' => $services[$id]];
        }
    }

    $category = $post['category'] ?? '';
    $categoryEmpty = $bug === 'zero-category'
        ? empty($post['category']) || (is_string($category) && trim($category) === '')
        : !is_string($category) || trim($category) === '';
    if ($categoryEmpty || !is_string($category) || !is_utf8($category) || utf8_length(trim($category)) > 255) {
        $invalid[] = 'category';
    } else {
        $category = $bug === 'category-untrimmed' ? $category : trim($category);
        if ($bug === 'ucfirst-category') {
            $category = ucfirst($category);
        } elseif ($bug === 'strip-tags-category') {
            $category = strip_tags($category);
        } elseif ($bug === 'substr-bytes-category') {
            $category = substr($category, 0, 255);
        } elseif ($bug === 'latin1-text') {
            $category = through_latin1($category);
        }
    }

    $serviceIp = $post['service_ip'] ?? '';
    if (!is_string($serviceIp)) {
        $invalid[] = 'service_ip';
    } else {
        $serviceIp = trim($serviceIp);
        if ($serviceIp === '') {
            $serviceIp = $service === null ? '' : ($service['ip'] ?? NO_DEDICATED_IP);
        } elseif (filter_var($serviceIp, FILTER_VALIDATE_IP) === false) {
            $invalid[] = 'service_ip';
        } elseif ($bug !== 'ipv6-as-sent') {
            $serviceIp = inet_ntop(inet_pton($serviceIp));
        }
    }

    $suspendMethod = $post['suspend_method'] ?? '';
    if (!is_string($suspendMethod)) {
        $invalid[] = 'suspend_method';
    } elseif (trim($suspendMethod) === '') {
        $suspendMethod = 'nosuspend';
    } elseif (!in_array($suspendMethod, SUSPEND_METHODS, true)) {
        $invalid[] = 'suspend_method';
    }

    $allowUnsuspend = $post['allow_unsuspend'] ?? null;
    if ($allowUnsuspend === null) {
        $allowUnsuspend = false;
    } elseif (!is_string($allowUnsuspend)) {
        $invalid[] = 'allow_unsuspend';
    } elseif ($bug === 'bool-cast' && trim($allowUnsuspend) !== '') {
        $allowUnsuspend = (bool) $allowUnsuspend;
    } elseif ($bug === 'strict-bool') {
        $spelled = strtolower(trim($allowUnsuspend));
        if ($spelled === '') {
            $allowUnsuspend = false;
        } elseif (in_array($spelled, ['1', '0', 'true', 'false'], true)) {
            $allowUnsuspend = $spelled === '1' || $spelled === 'true';
        } else {
            $invalid[] = 'allow_unsuspend';
        }
    } else {
        $allowUnsuspend = filter_var($allowUnsuspend, FILTER_VALIDATE_BOOLEAN, FILTER_NULL_ON_FAILURE);
        if ($allowUnsuspend === null) {
            $invalid[] = 'allow_unsuspend';
        }
    }

    $notes = [];
    foreach (['additional_info', 'admin_notes'] as $name) {
        $text = $post[$name] ?? '';
        // A TEXT column holds 65535 bytes.
        if (!is_string($text) || !is_utf8($text) || strlen($text) > 65535) {
            $invalid[] = $name;
            continue;
        }
        if ($bug === 'notes-trimmed') {
            $text = trim($text);
        } elseif ($bug === 'notes-truncated') {
            $text = utf8_cut($text, 255);
        } elseif ($bug === 'nl2br-info' && $name === 'additional_info') {
            $text = nl2br($text);
        } elseif ($bug === 'wordwrap-info' && $name === 'additional_info') {
            $text = wordwrap($text, 75, "\n", true);
        } elseif ($bug === 'addslashes-notes' && $name === 'admin_notes') {
            $text = addslashes($text);
        } elseif ($bug === 'latin1-text') {
            $text = through_latin1($text);
        }
        $notes[$name] = $text;
    }

    if ($invalid) {
        amp_error('AMP003', 'Missing or invalid parameters: ' . implode(', ', $invalid) . '.');
    }

    $insert = db()->prepare('INSERT INTO mod_abusemanagerpro_reports
        (service_id, category, service_ip, suspend_method, allow_unsuspend, additional_info, admin_notes)
        VALUES (?, ?, ?, ?, ?, ?, ?)');
    $insert->execute([
        $service['id'],
        $category,
        $serviceIp,
        $suspendMethod,
        $allowUnsuspend ? 1 : 0,
        $notes['additional_info'],
        $notes['admin_notes'],
    ]);
    send_json(['status' => 'success', 'report_id' => (int) db()->lastInsertId()]);
}

function handle_observer(int $id): void
{
    if (!authorised(presented_key(false))) {
        amp_error('AMP001', 'Unauthorized: a valid API_ID header is required.', 401);
    }
    $select = db()->prepare('SELECT * FROM mod_abusemanagerpro_reports WHERE id = ?');
    $select->execute([$id]);
    $row = $select->fetch();
    if ($row === false) {
        send_json(['status' => 'error', 'error_description' => "Report $id not found."], 404);
    }
    send_json([
        'report_id' => (int) $row['id'],
        'service_id' => (int) $row['service_id'],
        'category' => (string) $row['category'],
        'service_ip' => (string) $row['service_ip'],
        'suspend_method' => (string) $row['suspend_method'],
        'allow_unsuspend' => (bool) $row['allow_unsuspend'],
        'additional_info' => (string) $row['additional_info'],
        'admin_notes' => (string) $row['admin_notes'],
    ], 200, JSON_INVALID_UTF8_SUBSTITUTE);
}

$bug = bug();
$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
if ($path === API_PATH) {
    handle_api($bug);
} elseif (preg_match('#^/reports/([0-9]{1,18})$#', $path, $m) === 1 && ($_SERVER['REQUEST_METHOD'] ?? '') === 'GET') {
    handle_observer((int) $m[1]);
} else {
    send_json(['status' => 'error', 'error_description' => 'Not found.'], 404);
}
