// Placeholder until the store work lands: the PostgreSQL provisioning lives here.
export default async function setup(): Promise<void> {}
