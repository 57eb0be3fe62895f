//! The real parts, started on loopback by the tests: php-fpm, nginx, Apache (mod_php or
//! proxy_fcgi), tinyproxy, and the certificates openssl makes. Each daemon runs in the
//! foreground in its own process group, with a configuration written into the test's temporary
//! directory (no global configuration, no fixed port) and is killed with its workers on drop.
//! Readiness is a port (or socket) that accepts, polled against a deadline.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key the PHP application accepts.
pub(crate) const KEY: &str = "stack-test-key-4c2a";
/// The application's services, as `AMP_PHP_SERVICES` spells them.
pub(crate) const SERVICES: &str = "1=203.0.113.10,3=none";
/// An id the application does not know.
pub(crate) const MISSING: &str = "999";
/// The API's path.
pub(crate) const API: &str = "/modules/addons/abusemanagerpro/includes/api.php";
/// How long a daemon may take to accept connections.
const STARTUP: Duration = Duration::from_secs(20);

/// Whether the stack tests must run (CI installs the daemons and sets it).
fn required() -> bool {
    std::env::var("AMP_REQUIRE_STACKS").is_ok_and(|v| v == "1")
}

/// Whether every program in `programs` can be run (`php-fpm` and `mod_php` are looked up
/// where Debian installs them); when one cannot, says so and returns false (the test passes),
/// unless `AMP_REQUIRE_STACKS=1`.
pub(crate) fn have(programs: &[&str]) -> bool {
    for program in programs {
        let found = match *program {
            "php-fpm" => php_fpm().is_some(),
            "mod_php" => php_fpm().is_some_and(|fpm| libphp(&fpm).exists()),
            "modsecurity-crs" => Path::new(MOD_SECURITY).exists() && Path::new(CRS_RULES).is_dir(),
            _ => Command::new(program)
                .arg("-v")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok(),
        };
        if !found {
            assert!(
                !required(),
                "AMP_REQUIRE_STACKS=1 but {program} is not installed"
            );
            eprintln!(
                "SKIPPED: {program} is not installed (apt-get install nginx apache2 php-fpm \
                 libapache2-mod-php libapache2-mod-security2 modsecurity-crs tinyproxy); set \
                 AMP_REQUIRE_STACKS=1 to make this a failure"
            );
            return false;
        }
    }
    true
}

/// Debian's ModSecurity module for Apache (libapache2-mod-security2).
const MOD_SECURITY: &str = "/usr/lib/apache2/modules/mod_security2.so";
/// Debian's OWASP Core Rule Set (modsecurity-crs).
const CRS_RULES: &str = "/usr/share/modsecurity-crs/rules";

/// The Apache configuration of ModSecurity (which needs mod_unique_id) with the OWASP Core
/// Rule Set at `paranoia`, as Debian's packages install it (`modsecurity.conf-recommended` with the engine on, the CRS's
/// own `crs-setup.conf`), its state in the stack's directory.
pub(crate) fn modsecurity_crs(dir: &Path, paranoia: u8) -> String {
    let dir = dir.display();
    format!(
        "LoadModule unique_id_module /usr/lib/apache2/modules/mod_unique_id.so\n\
         LoadModule security2_module {MOD_SECURITY}\n\
         SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 13107200\n\
         SecRequestBodyNoFilesLimit 131072\nSecRequestBodyInMemoryLimit 131072\n\
         SecRequestBodyLimitAction Reject\n\
         SecRule REQBODY_ERROR \"!@eq 0\" \"id:200002,phase:2,t:none,log,deny,status:400\"\n\
         SecTmpDir {dir}\nSecDataDir {dir}\nSecAuditEngine Off\n\
         SecUnicodeMapFile /etc/modsecurity/unicode.mapping 20127\n\
         SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={paranoia}\"\n\
         Include /etc/modsecurity/crs/crs-setup.conf\n\
         Include {CRS_RULES}/*.conf\n"
    )
}

/// mod_php of the same PHP version as php-fpm (`libphp8.2.so`).
fn libphp(fpm: &str) -> PathBuf {
    PathBuf::from(format!(
        "/usr/lib/apache2/modules/libphp{}.so",
        php_version(fpm)
    ))
}

/// The php-fpm binary Debian installs (`php-fpm8.2`), found by name.
pub(crate) fn php_fpm() -> Option<String> {
    let dir = std::fs::read_dir("/usr/sbin").ok()?;
    let mut found: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("php-fpm"))
        .collect();
    found.sort();
    found.pop().map(|n| format!("/usr/sbin/{n}"))
}

/// The PHP version of `php-fpm8.2` (`8.2`), for libphp's file name.
fn php_version(fpm: &str) -> String {
    fpm.trim_start_matches("/usr/sbin/php-fpm").to_owned()
}

/// Whether the tests run as root: then daemons that switch users must be told to whom.
pub(crate) fn root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One stack's directory and the daemons started in it; all killed on drop.
pub(crate) struct Stack {
    pub(crate) dir: PathBuf,
    children: Vec<(String, Child)>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            // The whole process group: nginx's and Apache's workers, php-fpm's children.
            // `--`: without it, kill reads `-PID` as an option.
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("AMP_KEEP_STACKS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Stack {
    /// A fresh directory, with the PHP application copied into `www/` (readable by the user
    /// Apache switches to) and a database directory any worker may write.
    pub(crate) fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "amp-stack-{name}-{}-{nanos:08x}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("db")).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join("db"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let php = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/php");
        std::fs::copy(php.join("page_server.php"), dir.join("www/page_server.php")).unwrap();
        // What PHP sees of the headers, for the header-drop table in README.
        std::fs::write(
            dir.join("www/headers.php"),
            "<?php header('Content-Type: application/json');\n\
             echo json_encode(['server' => $_SERVER['HTTP_API_ID'] ?? null,\n\
             'getallheaders' => function_exists('getallheaders') ? (getallheaders()['API_ID'] ?? null) : null]);\n",
        )
        .unwrap();
        Self {
            dir,
            children: Vec::new(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The logs of every daemon, for a failing assertion.
    pub(crate) fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["fpm.log", "php.log", "nginx.log", "apache.log", "proxy.log"] {
            if let Ok(text) = std::fs::read_to_string(self.path(name)) {
                out.push_str(&format!("--- {name}\n{text}"));
            }
        }
        out
    }

    fn spawn(&mut self, what: &str, command: &mut Command) {
        // A fresh file for each start: a retry on another port reads only its own output.
        let log = std::fs::File::create(self.path(&format!("{what}.out"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        self.children.push((what.to_owned(), child));
    }

    /// Waits until `ready` holds; `Err` with the daemon's output when `what` exited first,
    /// a panic with the logs once the deadline passes.
    fn wait(&mut self, what: &str, ready: impl Fn() -> bool) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if ready() {
                return Ok(());
            }
            if let Some(at) = self.children.iter().position(|(n, _)| n == what) {
                if let Ok(Some(status)) = self.children[at].1.try_wait() {
                    self.children.remove(at);
                    let out = std::fs::read_to_string(self.path(&format!("{what}.out")))
                        .unwrap_or_default();
                    return Err(format!(
                        "{what} exited with {status}:\n{out}\n{}",
                        self.logs()
                    ));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what} did not start within {STARTUP:?}:\n{}", self.logs());
    }

    /// Starts `what` on `n` free ports (`start` writes its configuration for them and spawns
    /// it) and waits until each accepts. A port found free may be taken by another test before
    /// the daemon binds it: then the daemon exits saying so, and other ports are tried.
    fn start_on(&mut self, what: &str, n: usize, start: impl Fn(&mut Self, &[u16])) -> Vec<u16> {
        let mut last = String::new();
        for _ in 0..5 {
            let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
            start(self, &ports);
            let waited = self.wait(what, || {
                ports
                    .iter()
                    .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
            });
            match waited {
                Ok(()) => return ports,
                // nginx and Apache: "Address already in use"; tinyproxy: "Could not create
                // listening sockets".
                Err(why) if why.contains("in use") || why.contains("listening sockets") => {
                    last = why;
                }
                Err(why) => panic!("{why}"),
            }
        }
        panic!("{what} found no free port in 5 tries: {last}");
    }

    /// php-fpm serving the application on `fpm.sock`; `prepend` (PHP code), when given, runs
    /// before every script, as a PHP firewall installed with `auto_prepend_file` does.
    pub(crate) fn php_fpm(&mut self, prepend: Option<&str>) {
        let fpm = php_fpm().expect("php-fpm");
        let dir = self.dir.display().to_string();
        let user = if root() {
            "user = root\ngroup = root\n"
        } else {
            ""
        };
        let prepend = prepend.map_or(String::new(), |code| {
            let path = self.file("www/prepend.php", code);
            format!(
                "php_admin_value[auto_prepend_file] = \"{}\"\n",
                path.display()
            )
        });
        let conf = self.file(
            "fpm.conf",
            &format!(
                "[global]\npid = {dir}/fpm.pid\nerror_log = {dir}/fpm.log\ndaemonize = no\n\
                 [amp]\n{user}listen = {dir}/fpm.sock\nlisten.mode = 0666\npm = static\n\
                 pm.max_children = 4\ncatch_workers_output = yes\n\
                 env[AMP_PHP_KEY] = \"{KEY}\"\nenv[AMP_PHP_SERVICES] = \"{SERVICES}\"\n\
                 env[AMP_PHP_DB] = \"{dir}/db/reports.sqlite\"\n\
                 php_admin_flag[log_errors] = on\nphp_admin_value[error_log] = \"{dir}/php.log\"\n\
                 {prepend}"
            ),
        );
        let mut command = Command::new(&fpm);
        command
            .arg("-F")
            .arg("-y")
            .arg(&conf)
            .arg("-p")
            .arg(&self.dir);
        if root() {
            command.arg("-R");
        }
        self.spawn("fpm", &mut command);
        let sock = self.path("fpm.sock");
        // A socket in the stack's own directory: no port to clash on.
        if let Err(why) = self.wait("fpm", || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        }) {
            panic!("{why}");
        }
    }

    /// nginx with the server blocks `servers` writes for `n` ports in its http block (`user`
    /// when run as root); the ports.
    pub(crate) fn nginx(&mut self, n: usize, servers: impl Fn(&[u16]) -> String) -> Vec<u16> {
        self.start_on("nginx", n, |stack, ports| {
            stack.start_nginx(&servers(ports));
        })
    }

    fn start_nginx(&mut self, servers: &str) {
        let dir = self.dir.display().to_string();
        let user = if root() { "user root;\n" } else { "" };
        let conf = self.file(
            "nginx.conf",
            &format!(
                "daemon off;\n{user}worker_processes 1;\npid {dir}/nginx.pid;\n\
                 error_log {dir}/nginx.log warn;\nevents {{ worker_connections 256; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {dir}/tmp-body;\n\
                 proxy_temp_path {dir}/tmp-proxy;\n  fastcgi_temp_path {dir}/tmp-fastcgi;\n\
                 uwsgi_temp_path {dir}/tmp-uwsgi;\n  scgi_temp_path {dir}/tmp-scgi;\n\
                 {servers}\n}}\n"
            ),
        );
        self.spawn(
            "nginx",
            Command::new("nginx")
                .arg("-p")
                .arg(&self.dir)
                .arg("-e")
                .arg(self.path("nginx.log"))
                .arg("-c")
                .arg(&conf),
        );
    }

    /// The `location` that hands every request to the application under php-fpm.
    pub(crate) fn nginx_php(&self) -> String {
        format!(
            "location / {{\n    include /etc/nginx/fastcgi_params;\n\
             fastcgi_param SCRIPT_FILENAME {www}/page_server.php;\n\
             fastcgi_pass unix:{dir}/fpm.sock;\n  }}\n\
             location = /headers.php {{\n    include /etc/nginx/fastcgi_params;\n\
             fastcgi_param SCRIPT_FILENAME {www}/headers.php;\n\
             fastcgi_pass unix:{dir}/fpm.sock;\n  }}",
            www = self.path("www").display(),
            dir = self.dir.display()
        )
    }

    /// Apache (prefork, as mod_php needs) on `port`, every path served by the application:
    /// through mod_php, or through php-fpm with proxy_fcgi; `extra` goes into the server
    /// configuration (the header fix under test).
    pub(crate) fn apache(&mut self, mod_php: bool, extra: &str) -> u16 {
        let ports = self.start_on("apache", 1, |stack, ports| {
            stack.start_apache(ports[0], mod_php, extra);
        });
        ports[0]
    }

    fn start_apache(&mut self, port: u16, mod_php: bool, extra: &str) {
        let dir = self.dir.display().to_string();
        let modules = "/usr/lib/apache2/modules";
        let mut load = vec![
            "mpm_prefork_module mod_mpm_prefork.so",
            "authz_core_module mod_authz_core.so",
            "alias_module mod_alias.so",
            "setenvif_module mod_setenvif.so",
            "headers_module mod_headers.so",
            "env_module mod_env.so",
        ];
        let php_module;
        let handler = if mod_php {
            php_module = format!(
                "php_module {}",
                libphp(&php_fpm().unwrap_or_default())
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            load.push(&php_module);
            "SetHandler application/x-httpd-php".to_owned()
        } else {
            load.push("proxy_module mod_proxy.so");
            load.push("proxy_fcgi_module mod_proxy_fcgi.so");
            format!("SetHandler \"proxy:unix:{dir}/fpm.sock|fcgi://localhost\"")
        };
        let load: String = load
            .iter()
            .map(|m| {
                let (name, file) = m.split_once(' ').unwrap_or((m, ""));
                format!("LoadModule {name} {modules}/{file}\n")
            })
            .collect();
        let user = if root() {
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let www = self.path("www").display().to_string();
        let conf = self.file(
            "apache.conf",
            &format!(
                "ServerRoot {dir}\nDefaultRuntimeDir {dir}\nPidFile {dir}/apache.pid\n\
                 Mutex file:{dir} default\nListen 127.0.0.1:{port}\nServerName 127.0.0.1\n\
                 ErrorLog {dir}/apache.log\nLogLevel warn\n{load}{user}\
                 StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 8\n\
                 SetEnv AMP_PHP_KEY {KEY}\nSetEnv AMP_PHP_SERVICES {SERVICES}\n\
                 SetEnv AMP_PHP_DB {dir}/db/reports.sqlite\n\
                 DocumentRoot {www}\n<Directory {www}>\n  Require all granted\n</Directory>\n\
                 AliasMatch ^/headers\\.php$ {www}/headers.php\n\
                 AliasMatch ^/.* {www}/page_server.php\n\
                 <FilesMatch \"\\.php$\">\n  {handler}\n</FilesMatch>\n{extra}\n"
            ),
        );
        self.spawn(
            "apache",
            Command::new("apache2")
                .arg("-f")
                .arg(&conf)
                .arg("-DFOREGROUND"),
        );
    }

    /// Debian's tinyproxy on a free port; its URL.
    pub(crate) fn tinyproxy(&mut self) -> String {
        let ports = self.start_on("proxy", 1, |stack, ports| stack.start_tinyproxy(ports[0]));
        format!("http://127.0.0.1:{}", ports[0])
    }

    fn start_tinyproxy(&mut self, port: u16) {
        let conf = self.file(
            "proxy.conf",
            &format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nMaxClients 64\n\
                 Allow 127.0.0.1\nLogFile \"{}\"\n",
                self.path("proxy.log").display()
            ),
        );
        self.spawn(
            "proxy",
            Command::new("tinyproxy").arg("-d").arg("-c").arg(&conf),
        );
    }
}

/// Runs openssl with `args` in `dir`; panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA (`ca.pem`) and a server certificate it signed for 127.0.0.1 (`server.pem`,
/// `server.key`), as an organisation's own PKI issues them.
pub(crate) fn private_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=AMP test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// The certificate `openssl req -x509` makes by default (CA:TRUE, used by the server itself):
/// `self.pem`, `self.key`.
pub(crate) fn self_signed(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
        ],
    );
}
