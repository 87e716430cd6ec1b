//! Every sentence of the console in English, Spanish, Japanese and Portuguese. The language is
//! the one the viewer chose (`?lang=`, kept in a cookie), else the organization's default,
//! else English. Dates are shown in the viewer's time zone.

use axum::http::HeaderMap;
use chrono::TimeZone;
use roster_domain::model::Organization;

pub use crate::routes::oidc::page::Lang;

use super::session::{cookie, LANG_COOKIE};

/// (key, en, es, ja, pt)
const TEXTS: &[(&str, &str, &str, &str, &str)] = &[
    // The organization, platform and time-zone pages (console/organization.rs and the rest).
    ("o_org", "Organization", "Organización", "組織", "Organização"),
    ("o_settings", "Settings", "Ajustes", "設定", "Configurações"),
    ("o_name", "Organization name", "Nombre de la organización", "組織名", "Nome da organização"),
    ("o_language", "Default language (ISO 639-3, e.g. eng)", "Idioma predeterminado (ISO 639-3, p. ej. spa)", "既定の言語 (ISO 639-3、例: jpn)", "Idioma padrão (ISO 639-3, ex.: por)"),
    ("o_timezone", "Default time zone", "Zona horaria predeterminada", "既定のタイムゾーン", "Fuso horário padrão"),
    ("o_branding", "Branding", "Imagen de marca", "ブランディング", "Identidade visual"),
    ("o_branding_help", "PNG images (the favicon PNG or ICO), at most 128 KiB each, as Amigo's organization API stores them; the hosted sign-in page shows the logo. A file left empty keeps the image.", "Imágenes PNG (el favicon PNG o ICO), de 128 KiB como máximo cada una, como las guarda la API de organizaciones de Amigo; la página de inicio de sesión muestra el logotipo. Un archivo vacío conserva la imagen.", "PNG 画像 (ファビコンは PNG または ICO)、各 128 KiB まで。Amigo の組織 API と同じく保存され、サインインページにロゴが表示されます。ファイルを選ばなければ画像は変わりません。", "Imagens PNG (o favicon PNG ou ICO), de até 128 KiB cada, como a API de organizações do Amigo as guarda; a página de login mostra o logotipo. Um arquivo vazio mantém a imagem."),
    ("o_branding_save", "Save the images", "Guardar las imágenes", "画像を保存", "Salvar as imagens"),
    ("o_remove", "Remove", "Quitar", "削除", "Remover"),
    ("o_current", "Current", "Actual", "現在", "Atual"),
    ("o_logo", "Logo", "Logotipo", "ロゴ", "Logotipo"),
    ("o_square_logo", "Square logo", "Logotipo cuadrado", "正方形のロゴ", "Logotipo quadrado"),
    ("o_favicon", "Favicon", "Favicon", "ファビコン", "Favicon"),
    ("o_not_set", "Not set", "Sin definir", "未設定", "Não definido"),
    ("o_saved", "Saved.", "Guardado.", "保存しました。", "Salvo."),
    ("o_sections", "Organization sections", "Secciones de la organización", "組織のセクション", "Seções da organização"),
    ("o_connections", "Connections", "Conexiones", "接続", "Conexões"),
    ("o_clients", "OIDC clients", "Clientes OIDC", "OIDC クライアント", "Clientes OIDC"),
    ("o_scim", "SCIM tokens", "Tokens SCIM", "SCIM トークン", "Tokens SCIM"),
    ("o_webhooks", "Webhook endpoints", "Endpoints de webhook", "Webhook エンドポイント", "Endpoints de webhook"),
    ("o_none", "None yet.", "Ninguno todavía.", "まだありません。", "Nenhum ainda."),
    ("o_add", "Add", "Añadir", "追加", "Adicionar"),
    ("o_create", "Create", "Crear", "作成", "Criar"),
    ("o_revoke", "Revoke", "Revocar", "失効", "Revogar"),
    ("o_conn_name", "Connection name", "Nombre de la conexión", "接続名", "Nome da conexão"),
    ("o_issuer", "Issuer", "Emisor", "発行者", "Emissor"),
    ("o_client_id", "Client id", "Id de cliente", "クライアント ID", "Id do cliente"),
    ("o_client_secret", "Client secret", "Secreto de cliente", "クライアントシークレット", "Segredo do cliente"),
    ("o_domains", "Email domains", "Dominios de correo", "メールドメイン", "Domínios de e-mail"),
    ("o_domains_help", "Separated by commas or spaces, e.g. example.com", "Separados por comas o espacios, p. ej. example.com", "カンマまたは空白で区切ります (例: example.com)", "Separados por vírgulas ou espaços, ex.: example.com"),
    ("o_link_password", "Link existing password accounts", "Vincular cuentas con contraseña existentes", "既存のパスワードアカウントをリンクする", "Vincular contas com senha existentes"),
    ("o_redirect_uri", "Redirect URI to register at the provider", "URI de redirección para registrar en el proveedor", "プロバイダーに登録するリダイレクト URI", "URI de redirecionamento a registrar no provedor"),
    ("o_client_name", "Client name", "Nombre del cliente", "クライアント名", "Nome do cliente"),
    ("o_redirect_uris", "Redirect URIs", "URI de redirección", "リダイレクト URI", "URIs de redirecionamento"),
    ("o_uris_help", "One per line", "Una por línea", "1 行に 1 つ", "Uma por linha"),
    ("o_public", "Public client (no secret; PKCE required)", "Cliente público (sin secreto; PKCE obligatorio)", "パブリッククライアント (シークレットなし、PKCE 必須)", "Cliente público (sem segredo; PKCE obrigatório)"),
    ("o_kind", "Kind", "Tipo", "種類", "Tipo"),
    ("o_public_kind", "public", "público", "パブリック", "público"),
    ("o_confidential", "confidential", "confidencial", "コンフィデンシャル", "confidencial"),
    ("o_client_secret_once", "The client's secret, shown this once:", "El secreto del cliente, mostrado solo esta vez:", "クライアントシークレット (今回のみ表示):", "O segredo do cliente, mostrado só desta vez:"),
    ("o_token_name", "Token name", "Nombre del token", "トークン名", "Nome do token"),
    ("o_token_once", "The token, shown this once:", "El token, mostrado solo esta vez:", "トークン (今回のみ表示):", "O token, mostrado só desta vez:"),
    ("o_url", "URL", "URL", "URL", "URL"),
    ("o_types", "Event types", "Tipos de evento", "イベントの種類", "Tipos de evento"),
    ("o_types_help", "Separated by commas; empty for every event", "Separados por comas; vacío para todos", "カンマ区切り。空欄ならすべてのイベント", "Separados por vírgulas; vazio para todos"),
    ("o_description", "Description", "Descripción", "説明", "Descrição"),
    ("o_enabled", "Enabled", "Activado", "有効", "Ativado"),
    ("o_yes", "yes", "sí", "はい", "sim"),
    ("o_no", "no", "no", "いいえ", "não"),
    ("o_signing_once", "The signing secret, shown this once:", "El secreto de firma, mostrado solo esta vez:", "署名シークレット (今回のみ表示):", "O segredo de assinatura, mostrado só desta vez:"),
    ("o_platform", "Platform", "Plataforma", "プラットフォーム", "Plataforma"),
    ("o_platform_only", "Only the platform's administrators may use this page.", "Solo los administradores de la plataforma pueden usar esta página.", "このページはプラットフォーム管理者のみ使用できます。", "Somente os administradores da plataforma podem usar esta página."),
    ("o_orgs", "Organizations", "Organizaciones", "組織一覧", "Organizações"),
    ("o_create_org", "Create an organization", "Crear una organización", "組織を作成", "Criar uma organização"),
    ("o_cluster", "Cluster", "Clúster", "クラスター", "Cluster"),
    ("o_home_cluster", "Home cluster", "Clúster principal", "ホームクラスター", "Cluster principal"),
    ("o_open_console", "Open its console", "Abrir su consola", "コンソールを開く", "Abrir o console"),
    ("o_org_created", "The organization was created.", "Se creó la organización.", "組織を作成しました。", "A organização foi criada."),
    ("o_tz_title", "Your time zone", "Su zona horaria", "あなたのタイムゾーン", "Seu fuso horário"),
    ("o_tz_help", "Dates on every console page are shown in this time zone, in this browser.", "Las fechas de todas las páginas de la consola se muestran en esta zona horaria, en este navegador.", "このブラウザーでは、コンソールのすべての日時がこのタイムゾーンで表示されます。", "As datas de todas as páginas do console são mostradas neste fuso horário, neste navegador."),
    ("o_tz_default", "The organization's default", "La predeterminada de la organización", "組織の既定", "O padrão da organização"),
    ("o_tz_now", "Dates are shown in", "Las fechas se muestran en", "日時の表示:", "As datas são mostradas em"),
    ("console", "Console", "Consola", "コンソール", "Console"),
    ("choose_org", "Which organization?", "¿Qué organización?", "どの組織ですか？", "Qual organização?"),
    ("org_id", "Organization id", "Id de la organización", "組織 ID", "Id da organização"),
    ("continue", "Continue", "Continuar", "続ける", "Continuar"),
    ("last_org", "Last used", "Usada por última vez", "前回の組織", "Usada por último"),
    ("no_org", "There is no such organization.", "No existe esa organización.", "その組織はありません。", "Essa organização não existe."),
    ("no_access_title", "No access", "Sin acceso", "アクセス権がありません", "Sem acesso"),
    ("no_access", "Your account may not use the console of this organization. Ask one of its administrators.", "Su cuenta no puede usar la consola de esta organización. Pida acceso a un administrador.", "このアカウントはこの組織のコンソールを使用できません。管理者に依頼してください。", "Sua conta não pode usar o console desta organização. Peça a um administrador."),
    ("sign_in_here", "Sign in to this organization", "Iniciar sesión en esta organización", "この組織にサインイン", "Entrar nesta organização"),
    ("sign_out", "Sign out", "Cerrar sesión", "サインアウト", "Sair"),
    ("sign_out_everywhere", "Sign out everywhere", "Cerrar sesión en todas partes", "すべての場所でサインアウト", "Sair de todos os lugares"),
    ("signed_out", "You are signed out.", "Ha cerrado la sesión.", "サインアウトしました。", "Você saiu."),
    ("sign_in_failed", "The sign-in did not complete. Please try again.", "El inicio de sesión no se completó. Inténtelo de nuevo.", "サインインが完了しませんでした。もう一度お試しください。", "O login não foi concluído. Tente novamente."),
    ("bad_form", "This form is out of date or was not sent from this console. Please try again.", "Este formulario está caducado o no se envió desde esta consola. Inténtelo de nuevo.", "このフォームは古いか、このコンソールから送信されていません。もう一度お試しください。", "Este formulário expirou ou não foi enviado deste console. Tente novamente."),
    ("users", "Users", "Usuarios", "ユーザー", "Usuários"),
    ("roles", "Roles", "Roles", "ロール", "Funções"),
    ("api_keys", "API keys", "Claves de API", "API キー", "Chaves de API"),
    ("audit", "Audit log", "Registro de auditoría", "監査ログ", "Log de auditoria"),
    ("search", "Search", "Buscar", "検索", "Pesquisar"),
    ("sort", "Sort by", "Ordenar por", "並べ替え", "Ordenar por"),
    ("status", "Status", "Estado", "状態", "Status"),
    ("role", "Role", "Rol", "ロール", "Função"),
    ("any", "Any", "Cualquiera", "すべて", "Qualquer"),
    ("apply", "Apply", "Aplicar", "適用", "Aplicar"),
    ("invite", "Invite", "Invitar", "招待", "Convidar"),
    ("email", "Email", "Correo electrónico", "メールアドレス", "E-mail"),
    ("first_name", "First name", "Nombre", "名", "Nome"),
    ("last_name", "Last name", "Apellido", "姓", "Sobrenome"),
    ("name", "Name", "Nombre completo", "氏名", "Nome completo"),
    ("created_at", "Created", "Creado", "作成日時", "Criado"),
    ("last_message", "Last message", "Último mensaje", "最終メッセージ", "Última mensagem"),
    ("ascending", "ascending", "ascendente", "昇順", "crescente"),
    ("descending", "descending", "descendente", "降順", "decrescente"),
    ("active", "Active", "Activo", "有効", "Ativo"),
    ("invited", "Invited", "Invitado", "招待中", "Convidado"),
    ("inactive", "Deactivated", "Desactivado", "無効", "Desativado"),
    ("next_page", "Next page", "Página siguiente", "次のページ", "Próxima página"),
    ("last_page", "Last page", "Última página", "最後のページ", "Última página"),
    ("first_page", "First page", "Primera página", "最初のページ", "Primeira página"),
    ("total", "users in all", "usuarios en total", "人のユーザー", "usuários no total"),
    ("no_users", "No user matches.", "Ningún usuario coincide.", "該当するユーザーはいません。", "Nenhum usuário corresponde."),
    ("export", "Export as CSV", "Exportar como CSV", "CSV でエクスポート", "Exportar como CSV"),
    ("profile", "Profile", "Perfil", "プロフィール", "Perfil"),
    ("preferences", "Preferences", "Preferencias", "設定", "Preferências"),
    ("language", "Language", "Idioma", "言語", "Idioma"),
    ("timezone", "Time zone", "Zona horaria", "タイムゾーン", "Fuso horário"),
    ("save", "Save", "Guardar", "保存", "Salvar"),
    ("change_role", "Change role", "Cambiar rol", "ロールを変更", "Alterar função"),
    ("deactivate", "Deactivate", "Desactivar", "無効にする", "Desativar"),
    ("delete", "Delete", "Eliminar", "削除", "Excluir"),
    ("reset_password", "Send a password reset", "Enviar restablecimiento de contraseña", "パスワードリセットを送信", "Enviar redefinição de senha"),
    ("resend", "Resend invitation", "Reenviar invitación", "招待を再送信", "Reenviar convite"),
    ("end_sessions", "End sessions", "Cerrar sesiones", "セッションを終了", "Encerrar sessões"),
    ("done", "Done.", "Hecho.", "完了しました。", "Feito."),
    ("deleted_soft", "The user was deleted; some records are kept:", "El usuario fue eliminado; se conservan algunos registros:", "ユーザーは削除されました。一部の記録は保持されます:", "O usuário foi excluído; alguns registros são mantidos:"),
    ("deleted", "The user was deleted.", "El usuario fue eliminado.", "ユーザーは削除されました。", "O usuário foi excluído."),
    ("refused", "Refused", "Rechazado", "拒否されました", "Recusado"),
    ("rank_rule", "You may only give or change roles that your own roles outrank: a role with every permission of the other and more.", "Solo puede asignar o cambiar roles que sus propios roles superan: un rol con todos los permisos del otro y alguno más.", "自分のロールが上位にあるロール（相手のすべての権限とそれ以上を持つ）のみを付与・変更できます。", "Você só pode atribuir ou alterar funções que suas próprias funções superam: uma função com todas as permissões da outra e mais."),
    ("invalid", "Please correct these fields:", "Corrija estos campos:", "次の項目を修正してください:", "Corrija estes campos:"),
    ("not_found", "Not found.", "No encontrado.", "見つかりません。", "Não encontrado."),
    ("unavailable", "The service is unavailable. Please try again shortly.", "El servicio no está disponible. Inténtelo de nuevo en breve.", "サービスを利用できません。しばらくしてからお試しください。", "O serviço está indisponível. Tente novamente em breve."),
    ("back", "Back", "Volver", "戻る", "Voltar"),
    ("permissions", "Permissions", "Permisos", "権限", "Permissões"),
    ("key_name", "Key name", "Nombre de la clave", "キー名", "Nome da chave"),
    ("duration_days", "Valid for (days)", "Válida durante (días)", "有効期間（日）", "Válida por (dias)"),
    ("create_key", "Create API key", "Crear clave de API", "API キーを作成", "Criar chave de API"),
    ("secret_once", "The key's secret, shown this once:", "El secreto de la clave, mostrado solo esta vez:", "キーのシークレット（この一度だけ表示）:", "O segredo da chave, mostrado só desta vez:"),
    ("copy", "Copy", "Copiar", "コピー", "Copiar"),
    ("expires", "Expires", "Caduca", "有効期限", "Expira"),
    ("no_keys", "No API keys.", "No hay claves de API.", "API キーはありません。", "Nenhuma chave de API."),
    ("actor", "Actor", "Actor", "実行者", "Ator"),
    ("action", "Action", "Acción", "操作", "Ação"),
    ("user_id", "User id", "Id de usuario", "ユーザー ID", "Id do usuário"),
    ("from", "From", "Desde", "開始", "De"),
    ("to", "To", "Hasta", "終了", "Até"),
    ("time", "Time", "Hora", "日時", "Hora"),
    ("details", "Details", "Detalles", "詳細", "Detalhes"),
    ("older", "Older events", "Eventos anteriores", "さらに古いイベント", "Eventos anteriores"),
    ("no_events", "No events.", "No hay eventos.", "イベントはありません。", "Nenhum evento."),
    ("sessions", "Sessions", "Sesiones", "セッション", "Sessões"),
    ("sessions_help", "Ending the sessions signs the user out of every app, API token and console.", "Cerrar las sesiones desconecta al usuario de todas las aplicaciones, tokens de API y consolas.", "セッションを終了すると、すべてのアプリ、API トークン、コンソールからサインアウトされます。", "Encerrar as sessões desconecta o usuário de todos os apps, tokens de API e consoles."),
    ("audit_trail", "Audit trail", "Historial de auditoría", "監査履歴", "Trilha de auditoria"),
    ("variables", "Configuration variables", "Variables de configuración", "設定変数", "Variáveis de configuração"),
    ("invite_sent", "The invitation was sent.", "Se envió la invitación.", "招待を送信しました。", "O convite foi enviado."),
    ("bulk", "Bulk import", "Importación masiva", "一括インポート", "Importação em massa"),
    ("csv_file", "CSV file", "Archivo CSV", "CSV ファイル", "Arquivo CSV"),
    ("csv_format", "One user per line, separated by semicolons: email;name;company;role;password;environmentUuid;environmentName;bot", "Un usuario por línea, separado por punto y coma: email;name;company;role;password;environmentUuid;environmentName;bot", "1 行に 1 ユーザー、セミコロン区切り: email;name;company;role;password;environmentUuid;environmentName;bot", "Um usuário por linha, separado por ponto e vírgula: email;name;company;role;password;environmentUuid;environmentName;bot"),
    ("upload", "Upload", "Subir", "アップロード", "Enviar"),
    ("rows_applied", "rows applied", "filas aplicadas", "行を適用", "linhas aplicadas"),
    ("rows_rejected", "rows rejected", "filas rechazadas", "行を拒否", "linhas rejeitadas"),
    ("row", "Row", "Fila", "行", "Linha"),
    ("download_errors", "Download the errors (CSV)", "Descargar los errores (CSV)", "エラーをダウンロード (CSV)", "Baixar os erros (CSV)"),
    ("skip", "Skip to content", "Ir al contenido", "本文へ移動", "Ir para o conteúdo"),
    ("main_nav", "Console sections", "Secciones de la consola", "コンソールのセクション", "Seções do console"),
    ("pages", "Pages", "Páginas", "ページ", "Páginas"),
    // Roles, key rotation, activation and import jobs (issue 17 part A).
    ("create_role", "Create a role", "Crear un rol", "ロールを作成", "Criar uma função"),
    ("role_name", "Role name", "Nombre del rol", "ロール名", "Nome da função"),
    ("description", "Description", "Descripción", "説明", "Descrição"),
    ("edit_role", "Edit role", "Editar rol", "ロールを編集", "Editar função"),
    ("builtin_fixed", "A built-in role: its permissions are fixed; only its description changes.", "Un rol integrado: sus permisos son fijos; solo cambia su descripción.", "組み込みロールです。権限は固定で、説明のみ変更できます。", "Uma função integrada: suas permissões são fixas; só a descrição muda."),
    ("role_saved", "The role was saved.", "Se guardó el rol.", "ロールを保存しました。", "A função foi salva."),
    ("rotate", "Rotate", "Rotar", "ローテーション", "Rotacionar"),
    ("rotated", "The key has a new id and secret; the old ones no longer work, nor do the sessions signed in with them.", "La clave tiene un id y un secreto nuevos; los anteriores ya no funcionan, ni las sesiones iniciadas con ellos.", "キーに新しい ID とシークレットが付与されました。古いものと、それでサインインしたセッションは使えなくなりました。", "A chave tem um novo id e segredo; os antigos não funcionam mais, nem as sessões iniciadas com eles."),
    ("activate", "Activate", "Activar", "有効にする", "Ativar"),
    ("import_job", "Import", "Importación", "インポート", "Importação"),
    ("progress", "Progress", "Progreso", "進行状況", "Progresso"),
    ("rows_done", "rows read", "filas leídas", "行を読み込み済み", "linhas lidas"),
    ("of", "of", "de", "/", "de"),
    ("state", "State", "Estado", "状態", "Estado"),
    ("state_running", "Running", "En curso", "実行中", "Em andamento"),
    ("state_succeeded", "Finished", "Terminada", "完了", "Concluída"),
    ("state_failed", "Failed", "Fallida", "失敗", "Falhou"),
    ("state_cancelled", "Cancelled", "Cancelada", "キャンセル済み", "Cancelada"),
    ("cancel", "Cancel", "Cancelar", "キャンセル", "Cancelar"),
    ("refreshing", "This page refreshes itself until the import ends.", "Esta página se actualiza sola hasta que termine la importación.", "インポートが終わるまで、このページは自動的に更新されます。", "Esta página se atualiza sozinha até a importação terminar."),
    ("recent_imports", "Recent imports", "Importaciones recientes", "最近のインポート", "Importações recentes"),
    ("more_errors", "Only the first rejected rows are shown here; the file has them all.", "Aquí solo se muestran las primeras filas rechazadas; el archivo las tiene todas.", "ここには最初の拒否行のみ表示されます。ファイルにはすべて含まれます。", "Só as primeiras linhas rejeitadas aparecem aqui; o arquivo tem todas."),
    ("line", "Line", "Línea", "行番号", "Linha"),
    // A user's eva environments and bots (console/user_envs.rs).
    ("u_envs", "Environments and bots", "Entornos y bots", "環境とボット", "Ambientes e bots"),
    ("u_envs_admin", "An administrator: every environment and bot.", "Un administrador: todos los entornos y bots.", "管理者: すべての環境とボット。", "Um administrador: todos os ambientes e bots."),
    ("u_envs_none", "No environment.", "Ningún entorno.", "環境はありません。", "Nenhum ambiente."),
    ("u_env", "Environment", "Entorno", "環境", "Ambiente"),
    ("u_bots", "Bots", "Bots", "ボット", "Bots"),
    ("u_envs_help", "A role in each environment the user works in; EDITOR and VIEWER need at least one bot, SUPERVISOR reaches every bot. Saving changes only the environments and bots: the user's role, status and name stay as they are. An inactive environment or bot the user already holds can be kept, not newly given.", "Un rol en cada entorno en el que trabaja el usuario; EDITOR y VIEWER necesitan al menos un bot, SUPERVISOR alcanza todos. Guardar cambia solo los entornos y bots: el rol, el estado y el nombre del usuario no cambian. Un entorno o bot inactivo que el usuario ya tiene puede conservarse, no asignarse de nuevo.", "ユーザーが使う各環境のロール。EDITOR と VIEWER には 1 つ以上のボットが必要で、SUPERVISOR はすべてのボットを扱えます。保存で変わるのは環境とボットだけで、ユーザーのロール、状態、名前は変わりません。ユーザーがすでに持つ無効な環境やボットは維持できますが、新たに付与することはできません。", "Uma função em cada ambiente em que o usuário trabalha; EDITOR e VIEWER precisam de ao menos um bot, SUPERVISOR alcança todos. Salvar muda apenas os ambientes e bots: a função, o status e o nome do usuário ficam como estão. Um ambiente ou bot inativo que o usuário já tem pode ser mantido, não atribuído de novo."),
    ("u_env_role", "Role in this environment", "Rol en este entorno", "この環境でのロール", "Função neste ambiente"),
    ("u_env_no_access", "No access", "Sin acceso", "アクセスなし", "Sem acesso"),
    ("u_inactive", "inactive", "inactivo", "無効", "inativo"),
    ("u_keys", "API keys this user created", "Claves de API que creó este usuario", "このユーザーが作成した API キー", "Chaves de API que este usuário criou"),
    ("u_keys_manage", "Rotate or revoke them on the API keys page", "Rotarlas o revocarlas en la página de claves de API", "API キーのページでローテーションまたは失効", "Renove ou revogue-as na página de chaves de API"),
    ("u_envs_save", "Save environments", "Guardar entornos", "環境を保存", "Salvar ambientes"),
    ("u_envs_saved", "The environments were saved.", "Se guardaron los entornos.", "環境を保存しました。", "Os ambientes foram salvos."),
];

pub fn t(lang: Lang, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|e| e.0 == key)
        .map(|e| match lang {
            Lang::En => e.1,
            Lang::Es => e.2,
            Lang::Ja => e.3,
            Lang::Pt => e.4,
        })
        .unwrap_or("?")
}

/// The viewer's language: `?lang=`, the cookie, the organization's default, English.
pub fn choose(query_lang: Option<&str>, headers: &HeaderMap, org: Option<&Organization>) -> Lang {
    query_lang
        .and_then(Lang::parse)
        .or_else(|| {
            cookie(headers, LANG_COOKIE)
                .as_deref()
                .and_then(Lang::parse)
        })
        .or_else(|| {
            org.and_then(|o| o.default_preferences.preferred_language.as_deref())
                .and_then(Lang::parse)
        })
        .unwrap_or(Lang::En)
}

/// `at` (microseconds) as a date and time in `tz` (an IANA name), UTC when unknown.
pub fn when(at: i64, tz: Option<&str>) -> String {
    let Some(utc) = chrono::Utc.timestamp_micros(at).single() else {
        return String::new();
    };
    match tz.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        Some(z) => utc
            .with_timezone(&z)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => utc.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_translated() {
        for e in TEXTS {
            for s in [e.1, e.2, e.3, e.4] {
                assert!(!s.trim().is_empty(), "{}", e.0);
            }
        }
        let mut keys: Vec<&str> = TEXTS.iter().map(|e| e.0).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), TEXTS.len(), "a key is given twice");
    }

    #[test]
    fn dates_follow_the_time_zone() {
        let at = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
        assert_eq!(when(at, None), "2026-01-01 00:00 UTC");
        assert_eq!(when(at, Some("Asia/Tokyo")), "2026-01-01 09:00 JST");
    }
}
