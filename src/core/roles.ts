/** The roles of spec/api.md "Roles". */
export const ROLES = ['ORG_OWNER', 'PROJECT_OWNER', 'PROJECT_WRITER', 'PROJECT_READ_ONLY'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a key made through the API for one project may have. */
export const PROJECT_ROLES = ['PROJECT_OWNER', 'PROJECT_WRITER', 'PROJECT_READ_ONLY'] as const;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
