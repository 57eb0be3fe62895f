<?php
// The most lenient server the public page allows (CONTRACT.md §6), for proving that a read-only
// run creates nothing on any server, not only on the reference. It obeys only what the page
// demands whatever the server: no valid API_ID is AMP001, no `create` action is AMP002, a
// required parameter absent from every source is AMP003. Everything else it takes as loosely
// as PHP code found in the wild does:
//   - the key from any header spelling (API_ID, api-id, Api_Id, ...), trimmed;
//   - parameters from the query string, cookies, the form body PHP parsed, the raw body read
//     with parse_str() and json_decode() whatever the method or content type, and multipart
//     parts (uploads included) that it scans itself;
//   - parameter names in any case, with `.`, space and `-` read as `_`;
//   - the action trimmed and in any case;
//   - the service id by intval(), intval($x, 0), FILTER_VALIDATE_INT with its octal and hex
//     flags, and by stripping every non-digit; an array is intval() 1;
//   - a category that is present, even empty.
// Every service id exists, except AMP_PHP_MISSING: the largest installation there is.
//
// Every create is appended as a JSON line to AMP_PHP_DB, with where the create parameters were
// found and every admin_notes value by source, so the test can count creates and check the
// purge marker.
//
//   php -S 127.0.0.1:PORT lenient_server.php
// Environment: AMP_PHP_KEY (required), AMP_PHP_MISSING (the id that names no service),
// AMP_PHP_DB (the log of creates).

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('log_errors', '1');
error_reporting(E_ALL);

function answer(array $data): void
{
    header('Content-Type: application/json');
    echo json_encode($data, JSON_INVALID_UTF8_SUBSTITUTE), "\n";
}

function refuse(string $code, string $description): void
{
    answer(['status' => 'error', 'error_code' => $code, 'error_description' => $description]);
}

function norm(string $name): array
{
    $name = ltrim($name, " \t\r\n\v\0");
    $array = false;
    $at = strpos($name, '[');
    if ($at !== false) {
        $name = substr($name, 0, $at);
        $array = true;
    }
    return [strtolower(str_replace(['.', ' ', '-'], '_', $name)), $array];
}

/** @return list<array{0:string,1:string,2:mixed}> [source, name, value] */
function params(): array
{
    $out = [];
    $add = function (string $source, array $pairs) use (&$out): void {
        foreach ($pairs as $key => $value) {
            [$name, $array] = norm((string) $key);
            $out[] = [$source, $name, $array && !is_array($value) ? [$value] : $value];
        }
    };
    $add('query', $_GET);
    $add('cookie', $_COOKIE);
    $add('form', $_POST);
    foreach ($_FILES as $key => $file) {
        $content = is_string($file['tmp_name'] ?? null) && is_file($file['tmp_name'])
            ? (string) file_get_contents($file['tmp_name']) : '';
        $add('form', [$key => $content]);
    }
    $raw = (string) file_get_contents('php://input');
    if ($raw !== '') {
        $parsed = [];
        parse_str($raw, $parsed);
        $add('raw', $parsed);
        $json = json_decode($raw, true);
        if (is_array($json)) {
            $add('json', $json);
        }
        if (preg_match('/^--([^\r\n]+)\r?\n/', $raw, $m)) {
            foreach (explode('--' . $m[1], $raw) as $part) {
                if (preg_match('/name="([^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n(.*)\r?\n$/s', $part, $p)) {
                    $add('multipart', [$p[1] => $p[2]]);
                }
            }
        }
    }
    return $out;
}

function scalars($value): array
{
    if (is_array($value)) {
        $flat = [];
        array_walk_recursive($value, function ($v) use (&$flat) { $flat[] = (string) $v; });
        return $flat;
    }
    return [is_bool($value) ? ($value ? '1' : '') : (string) $value];
}

/** Every positive id the usual PHP idioms read from a value. */
function ids($value): array
{
    $ids = [];
    if (is_array($value)) {
        $ids[] = intval($value);
    }
    foreach (scalars($value) as $v) {
        $ids[] = intval($v);
        $ids[] = intval($v, 0);
        $ids[] = (int) filter_var(trim($v), FILTER_VALIDATE_INT, FILTER_FLAG_ALLOW_OCTAL | FILTER_FLAG_ALLOW_HEX);
        $digits = preg_replace('/\D/', '', $v);
        if ($digits !== '') {
            $ids[] = intval($digits);
        }
    }
    return array_values(array_unique(array_filter($ids, fn ($id) => $id > 0)));
}

function authenticated(): bool
{
    $key = (string) getenv('AMP_PHP_KEY');
    foreach (getallheaders() as $name => $value) {
        if (norm((string) $name)[0] === 'api_id') {
            foreach (explode(',', (string) $value) as $one) {
                if ($key !== '' && trim($one) === $key) {
                    return true;
                }
            }
        }
    }
    return false;
}

if (!authenticated()) {
    refuse('AMP001', 'Unauthorized');
    return true;
}
$params = params();
$named = fn (string $name) => array_values(array_filter($params, fn ($p) => $p[1] === $name));
$creates = false;
$sources = [];
foreach ($named('action') as [$source, , $value]) {
    foreach (scalars($value) as $v) {
        if (strtolower(trim($v, " \t\n\r\0\x0B")) === 'create') {
            $creates = true;
        }
    }
}
if (!$creates) {
    refuse('AMP002', 'Missing or invalid action');
    return true;
}
if ($named('category') === [] || $named('service_id') === []) {
    refuse('AMP003', 'Missing required parameters: service_id, category');
    return true;
}
$missing = intval(getenv('AMP_PHP_MISSING'));
$service = null;
foreach ($named('service_id') as [, , $value]) {
    foreach (ids($value) as $id) {
        if ($id !== $missing) {
            $service = $id;
            break 2;
        }
    }
}
if ($service === null) {
    refuse('AMP003', 'Service not found: service_id');
    return true;
}
foreach ($params as [$source, $name]) {
    if (in_array($name, ['action', 'service_id', 'category'], true)) {
        $sources[$source] = true;
    }
}
$notes = [];
foreach ($named('admin_notes') as [$source, , $value]) {
    $notes[$source][] = implode(' ', scalars($value));
}
$db = (string) getenv('AMP_PHP_DB');
$handle = fopen($db, 'c+');
flock($handle, LOCK_EX);
$count = 0;
while (fgets($handle) !== false) {
    $count++;
}
$id = $count + 1;
fwrite($handle, json_encode([
    'report_id' => $id,
    'service_id' => $service,
    'method' => $_SERVER['REQUEST_METHOD'] ?? '',
    'sources' => array_keys($sources),
    'admin_notes' => (object) $notes,
    'marker_header' => $_SERVER['HTTP_X_AMP_CONFORMANCE'] ?? null,
    // For the test's messages: what came, cut short.
    'query' => $_SERVER['QUERY_STRING'] ?? '',
    'body' => substr(http_build_query($_POST) . '|' . (string) file_get_contents('php://input'), 0, 300),
], JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR) . "\n");
fflush($handle);
flock($handle, LOCK_UN);
fclose($handle);
answer(['status' => 'success', 'report_id' => $id]);
return true;
