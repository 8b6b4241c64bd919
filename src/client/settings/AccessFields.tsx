import React, { useEffect, useMemo, useRef, useState } from 'react';
import { Col, Form, Row, Select, Spin, Typography } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import { FormSection } from './FormSection';
import { listRoles, listUsers, RoleOption, UserOption } from './api';

// Role titles are stored as NocoBase's compiled strings, e.g. {{t("Admin")}}.
function roleTitle(role: RoleOption, t: (k: string) => string): string {
  const match = /^\{\{\s*t\(\s*["'](.+?)["']/.exec(role.title ?? '');
  return match ? t(match[1]) : role.title || role.name;
}

function userLabel(u: UserOption): string {
  return u.nickname || u.username || u.email || String(u.id);
}

interface PickerProps<V> {
  id?: string;
  value?: V[];
  onChange?: (value: V[]) => void;
}

function UserSelect({ id, value, onChange }: PickerProps<number | string>) {
  const { t } = useMailTranslation();
  const api = useAPIClient();
  const [known, setKnown] = useState<Map<string, UserOption>>(new Map());
  const [matches, setMatches] = useState<UserOption[]>([]);
  const [loading, setLoading] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();

  const remember = (users: UserOption[]) =>
    setKnown((prev) => {
      const next = new Map(prev);
      users.forEach((u) => next.set(String(u.id), u));
      return next;
    });

  const search = async (text: string) => {
    setLoading(true);
    try {
      const users = await listUsers(api, text);
      setMatches(users);
      remember(users);
    } catch {
      setMatches([]);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    search('');
    if (value?.length) listUsers(api, '', value).then(remember, () => undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const options = useMemo(() => {
    const shown = new Map<string, UserOption>();
    matches.forEach((u) => shown.set(String(u.id), u));
    (value ?? []).forEach((v) => {
      const u = known.get(String(v));
      if (u) shown.set(String(u.id), u);
    });
    return [...shown.values()].map((u) => ({
      value: u.id,
      name: userLabel(u),
      label: (
        <span>
          {userLabel(u)}
          {u.email && u.email !== userLabel(u) && (
            <Typography.Text type="secondary" style={{ marginLeft: 8 }}>
              {u.email}
            </Typography.Text>
          )}
        </span>
      ),
    }));
  }, [matches, known, value]);

  return (
    <Select
      id={id}
      mode="multiple"
      value={value}
      onChange={onChange}
      showSearch
      filterOption={false}
      onSearch={(text) => {
        clearTimeout(timer.current);
        timer.current = setTimeout(() => search(text), 300);
      }}
      notFoundContent={loading ? <Spin size="small" /> : t('No matching users')}
      placeholder={t('Search by name or e-mail')}
      optionLabelProp="name"
      options={options}
    />
  );
}

function RoleSelect({ id, value, onChange }: PickerProps<string>) {
  const { t } = useMailTranslation();
  const api = useAPIClient();
  const [roles, setRoles] = useState<RoleOption[] | null>(null);
  useEffect(() => {
    listRoles(api).then(setRoles, () => setRoles([]));
  }, [api]);
  return (
    <Select
      id={id}
      mode="multiple"
      value={value}
      onChange={onChange}
      loading={roles === null}
      placeholder={t('Pick roles')}
      optionFilterProp="label"
      options={(roles ?? []).filter((r) => r.name !== 'root').map((r) => ({ value: r.name, label: roleTitle(r, t) }))}
    />
  );
}

/** "Who may use it": the users and roles that may read this mailbox and send from it. */
export function AccessFields() {
  const { t } = useMailTranslation();
  return (
    <FormSection
      title={t('Who may use it')}
      testId="section-access"
      description={t(
        'Admins can use every account. Pick the users and roles that may also read this mailbox and send from it.',
      )}
    >
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name="userIds" label={t('Users')}>
            <UserSelect />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="roleNames" label={t('Roles')}>
            <RoleSelect />
          </Form.Item>
        </Col>
      </Row>
    </FormSection>
  );
}
