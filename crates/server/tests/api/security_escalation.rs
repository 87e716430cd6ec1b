//! Privilege escalation, checked against a small reference model of the rank rules (SPEC §1.2:
//! role A outranks role B when A's grants are a strict superset of B's; a caller never grants,
//! invites into, mints keys for, or signs in as a role it does not outrank; on eva and
//! org-user-management an administrator also appoints and removes its equals, and nobody ever
//! grants a role holding a permission it lacks):
//! properties over (caller role, target role, operation), and random sequences of role
//! changes and deletions after each of which the model and the server agree and the
//! organization still has an active administrator. Driven through the core on the real store
//! (SQLite, or PostgreSQL with `TEST_DATABASE_URL`). The operations are those of eva, of
//! org-user-management, of Amigo and of the console's environments form
//! (`Core::set_user_environments`), which also never reaches into another organization.

use roster_domain::types::OrgId;
use roster_domain::types::UserId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use roster_domain::core::{
    Actor, Context, EnvInput, EvaUserInput, InviteInput, RoleInput, RolePatch,
};
use roster_domain::model::Grant;
use roster_domain::{Core, Error};

use crate::helpers::TestApp;

/// The roles the properties draw from: built-in ones, and two custom ones that hold
/// administrative permissions without outranking much.
const ROLES: &[&str] = &[
    "DefaultUserRole",
    "analyst",
    "developer",
    "DefaultAdministratorRole",
    "DefaultSuperAdministratorRole",
    "Inviter",
    "Manager",
    "admin",
    "ADMIN",
    "SUPERVISOR",
    "VIEWER",
];

/// A custom role that updates users and outranks the plain user, but no environment role (it
/// lacks their `Organization:GetOrganizationDetails`): a caller of the environments form only.
const UPDATER: &str = "Updater";

/// The roles org-user-management grants, and eva's.
const MEMBER_ROLES: &[&str] = &["admin", "developer", "analyst"];
const EVA_ROLES: &[&str] = &["ADMIN", "SUPERVISOR", "EDITOR", "VIEWER"];
/// The roles a user holds in one environment (`EnvRole`), which the console's form gives.
const ENV_ROLES: &[&str] = &["SUPERVISOR", "EDITOR", "VIEWER"];

const INVITE: &str = "User:InviteUser";
const ASSIGN: &str = "Role:AssignRole";
const DELETE: &str = "User:DeleteUser";
const KEY_CREATE: &str = "Organization:CreateAPIKey";
const ROLE_MODIFY: &str = "Role:ModifyRole";
const UPDATE: &str = "User:UpdateUserInfo";

/// The reference model: each role's grants as plain strings.
struct Model {
    grants: BTreeMap<String, BTreeSet<String>>,
}

fn canonical(grants: &[Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .map(|g| serde_json::to_string(g).unwrap())
        .collect()
}

impl Model {
    fn outranks_set(&self, caller: &str, other: &BTreeSet<String>) -> bool {
        let mine = &self.grants[caller];
        mine.len() > other.len() && other.is_subset(mine)
    }

    fn outranks(&self, caller: &str, target: &str) -> bool {
        self.outranks_set(caller, &self.grants[target])
    }

    /// Holds the permission outright (not only on oneself).
    fn may(&self, role: &str, permission: &str) -> bool {
        self.grants[role].contains(&serde_json::to_string(&Grant::of(permission)).unwrap())
    }

    fn is_admin(&self, role: &str) -> bool {
        [INVITE, DELETE, ASSIGN].iter().all(|p| self.may(role, p))
    }

    /// The eva and org-user-management rule: an administrator appoints every role it holds all
    /// the grants of, its equals included; anyone else only roles it outranks.
    fn appoints(&self, caller: &str, target: &str) -> bool {
        self.outranks(caller, target)
            || (self.is_admin(caller) && self.grants[target].is_subset(&self.grants[caller]))
    }

    /// No escalation: the target role holds no grant the caller lacks.
    fn within(&self, caller: &str, target: &str) -> bool {
        self.grants[target].is_subset(&self.grants[caller])
    }
}

struct World {
    app: TestApp,
    core: Core,
    model: Model,
    /// One active user per role, to act as a caller.
    callers: BTreeMap<String, String>,
    /// The administrator of another organization, `beta` (its catalogue is acme's).
    beta_admin: UserId,
    /// The administrative grants custom roles are drawn from.
    pool: Vec<Grant>,
    n: AtomicUsize,
}

fn system() -> Context {
    Context::system()
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        app.bootstrap("acme").await;
        let core = app.state.core.clone();
        app.eva_catalog("acme").await;
        let roles = core.store.list_roles(&OrgId::from("acme")).await.unwrap();
        let of = |name: &str| {
            roles
                .iter()
                .find(|r| r.name == name)
                .unwrap()
                .grants
                .clone()
        };
        let user = of("DefaultUserRole");
        let admin = of("DefaultAdministratorRole");
        let plus = |base: &[Grant], extra: &[&str]| {
            let mut g = base.to_vec();
            g.extend(extra.iter().map(|p| Grant::of(p)));
            g
        };
        // Holds the permissions, but outranks only the plain user.
        let inviter = plus(&user, &[INVITE, ASSIGN, KEY_CREATE, ROLE_MODIFY, DELETE]);
        // An administrator less the organization's settings: outranked by administrators.
        let manager: Vec<Grant> = admin
            .iter()
            .filter(|g| g.permission_name != "Organization:ModifyOrganization")
            .cloned()
            .collect();
        let updater = plus(&user, &[UPDATE, "User:GetUserInfo"]);
        for (name, grants) in [
            ("Inviter", inviter),
            ("Manager", manager),
            (UPDATER, updater),
        ] {
            core.create_role(
                &system(),
                "acme",
                RoleInput {
                    name: name.into(),
                    description: name.into(),
                    grants,
                    frontend_view: "client".into(),
                },
            )
            .await
            .unwrap();
        }
        let roles = core.store.list_roles(&OrgId::from("acme")).await.unwrap();
        let model = Model {
            grants: roles
                .iter()
                .map(|r| (r.name.clone(), canonical(&r.grants)))
                .collect(),
        };
        let pool = admin;
        let beta = app.bootstrap("beta").await;
        app.eva_catalog("beta").await;
        let world = World {
            app,
            core,
            model,
            callers: BTreeMap::new(),
            beta_admin: UserId::from(&beta.admin_id),
            pool,
            n: AtomicUsize::new(0),
        };
        let mut callers = BTreeMap::new();
        for role in ROLES.iter().chain(&[UPDATER]) {
            callers.insert(role.to_string(), world.member(role).await);
        }
        World { callers, ..world }
    }

    fn next(&self) -> usize {
        self.n.fetch_add(1, Ordering::Relaxed)
    }

    /// A new member of the organization holding `role`, made by the operator.
    /// Deletes a key the property made: the organization's keys are capped, and the cases share it.
    async fn drop_key(&self, key_id: &str) {
        self.core
            .delete_api_key(&system(), "acme", key_id)
            .await
            .unwrap();
    }

    async fn member(&self, role: &str) -> String {
        let n = self.next();
        let (user, _) = self
            .core
            .invite_user(&system(), "acme", invite(&format!("m{n}@x.example"), role))
            .await
            .unwrap();
        user.id.into()
    }

    /// A member who has accepted their invitation (org-user-management acts only on those).
    async fn active_member(&self, role: &str) -> String {
        let id = self.member(role).await;
        let u = self
            .core
            .store
            .get_user(&OrgId::from("acme"), &UserId::from(&id))
            .await
            .unwrap()
            .unwrap();
        let active = roster_domain::model::User {
            status: roster_domain::model::UserStatus::Active,
            ..u.clone()
        };
        self.core
            .store
            .update_user(&active, u.updated_at, None, Default::default())
            .await
            .unwrap();
        id
    }

    async fn as_user(&self, user_id: &str) -> Result<Context, Error> {
        self.as_user_of("acme", &UserId::from(user_id)).await
    }

    async fn as_user_of(&self, org: &str, user_id: &UserId) -> Result<Context, Error> {
        let now = roster_domain::types::session_stamp();
        let p = self
            .core
            .authenticate(&OrgId::from(org), user_id, now)
            .await?;
        Ok(Context::new("escalation", Actor::User(p)))
    }

    async fn as_role(&self, role: &str) -> Context {
        self.as_user(&self.callers[role]).await.unwrap()
    }

    /// A user's environment access as stored, as `(environment, role)` pairs.
    async fn env_roles(&self, org: &str, user: &UserId) -> Vec<(String, String)> {
        let org = OrgId::from(org);
        let held = self.core.store.env_access(&org, std::slice::from_ref(user));
        let mut out: Vec<(String, String)> = held
            .await
            .unwrap()
            .into_iter()
            .map(|(_, a)| (a.environment_uuid, a.role.as_str().to_owned()))
            .collect();
        out.sort();
        out
    }
}

/// eva's body for a user of `role`: the admin flag, or one environment with a bot.
fn eva_input(email: &str, role: &str) -> EvaUserInput {
    let admin = role == "ADMIN";
    EvaUserInput {
        name: "Eva User".into(),
        email: email.into(),
        company: None,
        image: None,
        admin,
        environments: if admin {
            Vec::new()
        } else {
            vec![EnvInput {
                role: roster_domain::model::EnvRole::parse(role),
                environment_uuid: crate::eva::PROD.into(),
                bots: vec![crate::eva::BOT.into()],
            }]
        },
        password: Some("Eva-pass1".into()),
        password_confirmation: Some("Eva-pass1".into()),
    }
}

fn invite(email: &str, role: &str) -> InviteInput {
    InviteInput {
        first_name: "Test".into(),
        last_name: "Member".into(),
        email: email.into(),
        login_link: None,
        role_name: role.into(),
        nonsensitive_variables: BTreeMap::new(),
        sensitive_variables: BTreeMap::new(),
        preferences: None,
    }
}

/// The server's answer matches the model's: done, or refused as forbidden.
fn agree<T: std::fmt::Debug>(
    what: &str,
    allowed: bool,
    got: &Result<T, Error>,
) -> Result<(), TestCaseError> {
    match (allowed, got) {
        (true, Ok(_)) | (false, Err(Error::Forbidden(_))) => Ok(()),
        _ => Err(TestCaseError::fail(format!(
            "{what}: the model says {}, the server answered {got:?}",
            if allowed { "allowed" } else { "forbidden" }
        ))),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Invite,
    AssignRole,
    CreateApiKey,
    EditRole,
    SignInAs,
    /// eva: create a user of an eva role.
    EvaCreate,
    /// eva: change a user holding `other` to an eva role.
    EvaUpdate,
    /// eva: deactivate a user holding `other`.
    EvaDelete,
    /// org-user-management: invite into one of its roles.
    MemberInvite,
    /// org-user-management: replace the roles of a member holding `other`.
    MemberRoles,
    /// org-user-management: remove a member holding `other`.
    MemberRemove,
    /// The console's environments form: give a member holding `other` an environment role.
    UserEnvironments,
    /// The same form aimed at a member of another organization.
    UserEnvironmentsElsewhere,
}

/// The server's answer matches the rule of eva and org-user-management, and a success never
/// hands out a grant the caller lacks.
fn agree_appoint<T: std::fmt::Debug>(
    m: &Model,
    what: &str,
    caller: &str,
    target: &str,
    allowed: bool,
    got: &Result<T, Error>,
) -> Result<(), TestCaseError> {
    agree(what, allowed, got)?;
    if got.is_ok() && !m.within(caller, target) {
        return Err(TestCaseError::fail(format!(
            "{what}: escalation, {target} holds grants {caller} lacks"
        )));
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

/// Runs an async property on the test's runtime from inside proptest's synchronous runner.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_acts_on_a_role_it_does_not_outrank() {
    let w = World::new().await;
    let role = || proptest::sample::select(ROLES.to_vec());
    let op = prop_oneof![
        Just(Op::Invite),
        Just(Op::AssignRole),
        Just(Op::CreateApiKey),
        Just(Op::EditRole),
        Just(Op::SignInAs),
        Just(Op::EvaCreate),
        Just(Op::EvaUpdate),
        Just(Op::EvaDelete),
        Just(Op::MemberInvite),
        Just(Op::MemberRoles),
        Just(Op::MemberRemove),
        Just(Op::UserEnvironments),
        Just(Op::UserEnvironmentsElsewhere),
    ];
    let grants = proptest::sample::subsequence(w.pool.clone(), 1..=w.pool.len());
    let strategy = (role(), role(), role(), op, grants.clone(), grants);
    // 114 cases: beside the two environments operations, the eleven older ones still get
    // about the 96 draws they had alone (114 * 11 / 13).
    runner(114)
        .run(&strategy, |(caller, target, other, op, old, new)| {
            block_on(async {
                let m = &w.model;
                match op {
                    Op::Invite => {
                        let ctx = w.as_role(caller).await;
                        let email = format!("i{}@x.example", w.next());
                        let got = w
                            .core
                            .invite_user(&ctx, "acme", invite(&email, target))
                            .await;
                        let allowed = m.may(caller, INVITE) && m.outranks(caller, target);
                        agree(&format!("{caller} invites into {target}"), allowed, &got)
                    }
                    Op::AssignRole => {
                        // Moves a member holding `other` to `target`.
                        let ctx = w.as_role(caller).await;
                        let member = w.member(other).await;
                        let got = w
                            .core
                            .assign_role(&ctx, "acme", target, &UserId::from(&member))
                            .await;
                        let allowed = m.may(caller, ASSIGN)
                            && m.outranks(caller, target)
                            && m.outranks(caller, other);
                        agree(
                            &format!("{caller} moves a {other} to {target}"),
                            allowed,
                            &got,
                        )
                    }
                    Op::CreateApiKey => {
                        let ctx = w.as_role(caller).await;
                        let got = w
                            .core
                            .create_api_key(&ctx, "acme", None, 86_400, target)
                            .await;
                        let allowed = m.may(caller, KEY_CREATE) && m.outranks(caller, target);
                        let verdict =
                            agree(&format!("{caller} mints a {target} key"), allowed, &got);
                        if let Ok(k) = &got {
                            w.drop_key(&k.key.key_id).await;
                        }
                        verdict
                    }
                    Op::EditRole => {
                        // A custom role with grants `old` is rewritten to `new`.
                        let name = format!("Custom{}", w.next());
                        w.core
                            .create_role(
                                &system(),
                                "acme",
                                RoleInput {
                                    name: name.clone(),
                                    description: "d".into(),
                                    grants: old.clone(),
                                    frontend_view: "client".into(),
                                },
                            )
                            .await
                            .unwrap();
                        let ctx = w.as_role(caller).await;
                        let patch = RolePatch {
                            grants: Some(new.clone()),
                            ..RolePatch::default()
                        };
                        let got = w.core.modify_role(&ctx, "acme", &name, patch).await;
                        let allowed = m.may(caller, ROLE_MODIFY)
                            && m.outranks_set(caller, &canonical(&old))
                            && m.outranks_set(caller, &canonical(&new));
                        agree(
                            &format!(
                                "{caller} rewrites a role of {} grants to {}",
                                old.len(),
                                new.len()
                            ),
                            allowed,
                            &got,
                        )
                    }
                    Op::EvaCreate => {
                        let target = EVA_ROLES[w.next() % EVA_ROLES.len()];
                        let ctx = w.as_role(caller).await;
                        let email = format!("e{}@x.example", w.next());
                        let got = w
                            .core
                            .eva_create(&ctx, "acme", eva_input(&email, target), "en")
                            .await;
                        let allowed = m.may(caller, INVITE) && m.appoints(caller, target);
                        let what = format!("{caller} creates an eva {target}");
                        agree_appoint(m, &what, caller, target, allowed, &got)
                    }
                    Op::EvaUpdate => {
                        let target = EVA_ROLES[w.next() % EVA_ROLES.len()];
                        let ctx = w.as_role(caller).await;
                        let member = w.member(other).await;
                        let email = w
                            .core
                            .store
                            .get_user(&OrgId::from("acme"), &UserId::from(&member))
                            .await
                            .unwrap()
                            .unwrap()
                            .email;
                        let mut input = eva_input(&email, target);
                        input.password = None;
                        input.password_confirmation = None;
                        let got = w
                            .core
                            .eva_update(&ctx, "acme", &UserId::from(&member), input)
                            .await;
                        let allowed = m.may(caller, UPDATE)
                            && m.appoints(caller, other)
                            && m.appoints(caller, target);
                        let what = format!("{caller} makes a {other} an eva {target}");
                        agree_appoint(m, &what, caller, target, allowed, &got)
                    }
                    Op::EvaDelete => {
                        let ctx = w.as_role(caller).await;
                        let member = w.member(other).await;
                        let got = w
                            .core
                            .eva_delete(&ctx, "acme", &UserId::from(&member))
                            .await;
                        let allowed = m.may(caller, DELETE) && m.appoints(caller, other);
                        let what = format!("{caller} deactivates a {other}");
                        agree_appoint(m, &what, caller, other, allowed, &got)
                    }
                    Op::MemberInvite => {
                        let target = MEMBER_ROLES[w.next() % MEMBER_ROLES.len()];
                        let ctx = w.as_role(caller).await;
                        let email = format!("o{}@x.example", w.next());
                        let got = w
                            .core
                            .invite_member(&ctx, &email, "Oum Member", vec![target.into()], None)
                            .await;
                        let allowed = m.may(caller, INVITE) && m.appoints(caller, target);
                        let what = format!("{caller} invites a member as {target}");
                        agree_appoint(m, &what, caller, target, allowed, &got)
                    }
                    Op::MemberRoles => {
                        let target = MEMBER_ROLES[w.next() % MEMBER_ROLES.len()];
                        let ctx = w.as_role(caller).await;
                        let member = w.active_member(other).await;
                        let got = w
                            .core
                            .replace_roles(&ctx, &UserId::from(&member), vec![target.into()])
                            .await;
                        let allowed = m.may(caller, ASSIGN)
                            && m.appoints(caller, target)
                            && m.appoints(caller, other);
                        let what = format!("{caller} gives a {other} the roles [{target}]");
                        agree_appoint(m, &what, caller, target, allowed, &got)
                    }
                    Op::MemberRemove => {
                        let ctx = w.as_role(caller).await;
                        let member = w.active_member(other).await;
                        let got = w.core.remove_member(&ctx, &UserId::from(&member)).await;
                        let allowed = m.may(caller, DELETE) && m.appoints(caller, other);
                        let what = format!("{caller} removes a {other}");
                        agree_appoint(m, &what, caller, other, allowed, &got)
                    }
                    Op::UserEnvironments => {
                        user_environments(&w, caller, other, w.next() % 3 == 0).await
                    }
                    Op::UserEnvironmentsElsewhere => user_environments_elsewhere(&w, caller).await,
                    Op::SignInAs => {
                        // A key of role `caller` (minted by the operator) signs in as a `target`.
                        let key = w
                            .core
                            .create_api_key(&system(), "acme", None, 86_400, caller)
                            .await
                            .unwrap();
                        let member = w.member(target).await;
                        let got = w
                            .core
                            .sign_in_with_api_key(
                                "esc",
                                "acme",
                                &key.key.key_id,
                                &key.secret,
                                &UserId::from(&member),
                            )
                            .await;
                        let allowed = m.outranks(caller, target);
                        let verdict = agree(
                            &format!("a {caller} key signs in as a {target}"),
                            allowed,
                            &got,
                        );
                        w.drop_key(&key.key.key_id).await;
                        verdict
                    }
                }
            })
        })
        .unwrap();
    drop(w.app);
}

/// The environments form for every pair of caller and member role, saving a change and saving
/// again what is held (the environment role drawn in turn), and every caller aimed at another
/// organization: the pairs where the member's rank allows a change and the access's does not
/// (the updater and a plain user) are too few to leave to chance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_gives_environment_access_beyond_their_rank_or_organization() {
    let w = World::new().await;
    let check = |r: Result<(), TestCaseError>| {
        if let Err(e) = r {
            panic!("{e}");
        }
    };
    for caller in ROLES.iter().chain(&[UPDATER]) {
        for other in ROLES {
            for again in [false, true] {
                check(user_environments(&w, caller, other, again).await);
            }
        }
        check(user_environments_elsewhere(&w, caller).await);
    }
    drop(w.app);
}

/// The console's environments form (`Core::set_user_environments`): `caller` gives a new member
/// holding `other` one environment with an environment role, or, `again`, saves the environment
/// the operator gave them. A change needs the caller to update the member and to
/// appoint both the member's role and the role eva gives that access (`ADMIN` to an
/// administrator); an unchanged save needs the first two (updating the member, appointing
/// their role), not the rank of the access it keeps. A refusal writes nothing.
async fn user_environments(
    w: &World,
    caller: &str,
    other: &str,
    again: bool,
) -> Result<(), TestCaseError> {
    let m = &w.model;
    let env_role = ENV_ROLES[w.next() % ENV_ROLES.len()];
    let member = UserId::from(w.member(other).await);
    let envs = eva_input("", env_role).environments;
    if again {
        w.core
            .set_user_environments(&system(), "acme", &member, envs.clone())
            .await
            .unwrap();
    }
    let before = w.env_roles("acme", &member).await;
    let ctx = w.as_role(caller).await;
    let got = w
        .core
        .set_user_environments(&ctx, "acme", &member, envs)
        .await;
    let given = if m.is_admin(other) { "ADMIN" } else { env_role };
    let allowed =
        m.may(caller, UPDATE) && m.appoints(caller, other) && (again || m.appoints(caller, given));
    let what = format!("{caller} gives a {other} {env_role} access (again: {again})");
    if again {
        agree(&what, allowed, &got)?;
    } else {
        agree_appoint(m, &what, caller, given, allowed, &got)?;
    }
    let after = w.env_roles("acme", &member).await;
    let expected = if got.is_ok() {
        vec![(crate::eva::PROD.to_owned(), env_role.to_owned())]
    } else {
        before
    };
    prop_assert_eq!(after, expected, "{}: what is stored", what);
    Ok(())
}

/// The environments form of organization acme's `caller` aimed at a new member of beta:
/// refused as forbidden through beta's path, not found through acme's, and beta's member keeps
/// no access; then beta's own administrator saves the same form in beta, which gives it (so the
/// refusals are not of a form nobody could save).
async fn user_environments_elsewhere(w: &World, caller: &str) -> Result<(), TestCaseError> {
    let email = format!("b{}@x.example", w.next());
    let (member, _) = w
        .core
        .invite_user(&system(), "beta", invite(&email, "DefaultUserRole"))
        .await
        .unwrap();
    let member = member.id;
    let ctx = w.as_role(caller).await;
    let envs = eva_input("", "SUPERVISOR").environments;
    let there = w
        .core
        .set_user_environments(&ctx, "beta", &member, envs.clone())
        .await;
    agree(&format!("{caller} of acme acts in beta"), false, &there)?;
    let here = w
        .core
        .set_user_environments(&ctx, "acme", &member, envs.clone())
        .await;
    prop_assert!(
        matches!(here, Err(Error::NotFound(_))),
        "{caller} of acme reaches beta's member through acme: {here:?}"
    );
    prop_assert!(w.env_roles("beta", &member).await.is_empty());
    let admin = w.as_user_of("beta", &w.beta_admin).await.unwrap();
    let own = w
        .core
        .set_user_environments(&admin, "beta", &member, envs)
        .await;
    prop_assert!(
        own.is_ok(),
        "beta's administrator saves the form in beta: {own:?}"
    );
    prop_assert_eq!(
        w.env_roles("beta", &member).await,
        vec![(crate::eva::PROD.to_owned(), "SUPERVISOR".to_owned())],
        "what beta's administrator gave"
    );
    Ok(())
}

#[derive(Debug, Clone)]
enum Step {
    /// `caller` (an index into the members) gives `target` the role.
    Assign {
        caller: usize,
        target: usize,
        role: &'static str,
    },
    Delete {
        caller: usize,
        target: usize,
    },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_role_changes_keep_model_and_server_agreeing_and_an_administrator() {
    let w = World::new().await;
    let step = prop_oneof![
        (
            0..6usize,
            0..6usize,
            proptest::sample::select(ROLES.to_vec())
        )
            .prop_map(|(caller, target, role)| Step::Assign {
                caller,
                target,
                role
            }),
        (0..6usize, 0..6usize).prop_map(|(caller, target)| Step::Delete { caller, target }),
    ];
    let start = proptest::collection::vec(proptest::sample::select(ROLES.to_vec()), 5);
    let strategy = (start, proptest::collection::vec(step, 1..14));
    runner(12)
        .run(&strategy, |(start, steps)| {
            block_on(async {
                // A fresh organization per sequence, with six members and its bootstrap admin.
                let org = format!("sm{}", w.next());
                let boot = w.app.bootstrap(&org).await;
                let roles = w.core.store.list_roles(&OrgId::from(&org)).await.unwrap();
                for (name, grants) in [("Inviter", "Inviter"), ("Manager", "Manager")] {
                    let g = w
                        .core
                        .store
                        .list_roles(&OrgId::from("acme"))
                        .await
                        .unwrap()
                        .into_iter()
                        .find(|r| r.name == grants)
                        .unwrap()
                        .grants;
                    if !roles.iter().any(|r| r.name == name) {
                        w.core
                            .create_role(
                                &system(),
                                &org,
                                RoleInput {
                                    name: name.into(),
                                    description: name.into(),
                                    grants: g,
                                    frontend_view: "client".into(),
                                },
                            )
                            .await
                            .unwrap();
                    }
                }
                // The model's view: each member's role, or gone. All are active; the first is
                // the organization's bootstrap administrator.
                let mut members: Vec<(String, Option<&'static str>)> =
                    vec![(boot.admin_id.clone(), Some("DefaultAdministratorRole"))];
                for role in &start {
                    let n = w.next();
                    let (u, _) = w
                        .core
                        .invite_user(&system(), &org, invite(&format!("s{n}@x.example"), role))
                        .await
                        .unwrap();
                    let active = roster_domain::model::User {
                        status: roster_domain::model::UserStatus::Active,
                        ..u.clone()
                    };
                    w.core
                        .store
                        .update_user(&active, u.updated_at, None, Default::default())
                        .await
                        .unwrap();
                    members.push((u.id.into(), Some(*role)));
                }
                let m = &w.model;
                let admins = |members: &[(String, Option<&'static str>)]| {
                    members
                        .iter()
                        .filter(|(_, r)| r.is_some_and(|r| m.is_admin(r)))
                        .count()
                };
                for step in steps {
                    match step {
                        Step::Assign {
                            caller,
                            target,
                            role,
                        } => {
                            let (Some(c), Some(t)) = (members[caller].1, members[target].1) else {
                                continue;
                            };
                            let ctx = {
                                let now = roster_domain::types::session_stamp();
                                let p = w
                                    .core
                                    .authenticate(
                                        &OrgId::from(&org),
                                        &UserId::from(&members[caller].0),
                                        now,
                                    )
                                    .await
                                    .unwrap();
                                Context::new("sm", Actor::User(p))
                            };
                            let got = w
                                .core
                                .assign_role(&ctx, &org, role, &UserId::from(&members[target].0))
                                .await;
                            let is_self = caller == target;
                            let allowed = m.may(c, ASSIGN)
                                && m.outranks(c, role)
                                && (is_self || m.outranks(c, t));
                            let mut after = members.clone();
                            after[target].1 = Some(role);
                            if allowed && admins(&after) == 0 {
                                prop_assert!(
                                    matches!(got, Err(Error::Conflict(_))),
                                    "last admin: {got:?}"
                                );
                            } else {
                                agree(
                                    &format!("{c} moves a {t} to {role} (self: {is_self})"),
                                    allowed,
                                    &got,
                                )?;
                                if got.is_ok() {
                                    members = after;
                                }
                            }
                        }
                        Step::Delete { caller, target } => {
                            let (Some(c), Some(t)) = (members[caller].1, members[target].1) else {
                                continue;
                            };
                            let ctx = {
                                let now = roster_domain::types::session_stamp();
                                let p = w
                                    .core
                                    .authenticate(
                                        &OrgId::from(&org),
                                        &UserId::from(&members[caller].0),
                                        now,
                                    )
                                    .await
                                    .unwrap();
                                Context::new("sm", Actor::User(p))
                            };
                            let got = w
                                .core
                                .delete_user(&ctx, &org, &UserId::from(&members[target].0))
                                .await;
                            let is_self = caller == target;
                            let allowed = m.may(c, DELETE) && (is_self || m.outranks(c, t));
                            let mut after = members.clone();
                            after[target].1 = None;
                            if allowed && admins(&after) == 0 {
                                prop_assert!(
                                    matches!(got, Err(Error::Conflict(_))),
                                    "last admin: {got:?}"
                                );
                            } else {
                                agree(
                                    &format!("{c} deletes a {t} (self: {is_self})"),
                                    allowed,
                                    &got,
                                )?;
                                if got.is_ok() {
                                    members = after;
                                }
                            }
                        }
                    }
                    // After every step the server holds what the model holds, and an
                    // active administrator remains.
                    for (id, role) in &members {
                        let stored = w
                            .core
                            .store
                            .get_user(&OrgId::from(&org), &UserId::from(id))
                            .await
                            .unwrap();
                        match role {
                            None => prop_assert!(stored.is_none(), "{id} should be gone"),
                            Some(r) => {
                                let u = stored.expect("member");
                                let names: Vec<String> = roles_of(&w, &org, &u.role_ids).await;
                                prop_assert_eq!(names, vec![r.to_string()]);
                            }
                        }
                    }
                    prop_assert!(
                        w.core
                            .store
                            .count_active_admins(&OrgId::from(&org))
                            .await
                            .unwrap()
                            >= 1
                    );
                }
                drop(boot);
                Ok(())
            })
        })
        .unwrap();
}

async fn roles_of(w: &World, org: &str, ids: &[String]) -> Vec<String> {
    w.core
        .store
        .list_roles(&OrgId::from(org))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| r.name)
        .collect()
}
